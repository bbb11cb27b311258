"""Training speed: the pytorch/examples MNIST loop vs cnn-tui's engine, in one run, same machine.

Rows:
- reference      pytorch/examples Net: DataLoader + ToTensor/Normalize, Adadelta 1.0, StepLR 0.7, batch 64
- engine (same)  the same Net and optimizer through cnn-tui's engine, batch 64 (a like-for-like loop)
- engine (dflt)  the same Net, the engine's device default batch size (CPU 64, CUDA 512), and on
                 CUDA also batch 1024
- Advanced       the Advanced template with its file's settings (batch 128), and on CUDA batch 1024
- fast (--target-acc): Advanced, batch 1024, Adam + one-cycle, all 60k images (val_size 0); the test set is
  evaluated at each epoch end (not counted) and the training time to reach the target is reported.

images/s counts training only (no evaluation, no checkpoint writes) and is the last epoch's rate
when more than one epoch runs (the first includes cuDNN autotuning). Runs from a source tree with
only torch + numpy (+ torchvision for the reference):

    PYTHONPATH=. python benchmarks/train_speed.py --data-dir ../shared/data --limit 10000   # CPU
    PYTHONPATH=. python benchmarks/train_speed.py --data-dir DATA --epochs 2 --target-acc 0.992
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch  # noqa: E402

from reference_mnist import NET_ARCH, run_reference  # noqa: E402


def engine_run(arch, config: dict, args, runs_dir: Path, limit=None, limit_test=None,
               per_epoch=None) -> dict:
    from cnn_tui.train.loop import RunOptions, Trainer
    # a bare Trainer: nothing recorded, no checkpoints (runs_dir is kept for the rows' API)
    opts = RunOptions(data_dir=args.data_dir, limit_train=limit, limit_test=limit_test,
                      device=args.device, progress_every=10_000, grad_norms_every=0,
                      compile=args.compile)
    callbacks = [] if per_epoch is None else [lambda event: per_epoch(trainer, event)]
    trainer = Trainer(arch, config, opts, callbacks)
    result = trainer.run()
    rates = [e["images_per_s"] for e in result.epochs]
    return {"images_per_s": rates[-1] if rates else 0.0, "mean_images_per_s": result.images_per_s,
            "train_seconds": result.train_seconds, "test_acc": result.test_acc,
            "batch_size": result.config["batch_size"], "device": result.device,
            "device_name": result.device_name, "status": result.status, "epochs": result.epochs}


def fast_run(args, runs_dir: Path, lr: float, epochs: int, batch: int) -> dict:
    """Time to reach args.target_acc on the full test set; evaluation time excluded."""
    from cnn_tui.spec.templates import get_template
    from cnn_tui.train.evaluate import evaluate_split
    marks = []

    def at_epoch_end(trainer, event):
        if type(event).__name__ != "EpochEnd":
            return
        ev = evaluate_split(trainer.model, trainer.data.test, trainer.dev, 8192, mistakes=0,
                            channels_last=trainer.dev.channels_last)
        marks.append((sum(h["train_seconds"] for h in trainer.history), ev["accuracy"]))

    config = {"optimizer": "adam", "learning_rate": lr, "schedule": "onecycle",
              "batch_size": batch, "epochs": epochs, "val_size": 0}
    out = engine_run(get_template("advanced"), config, args, runs_dir, args.limit, args.limit_test,
                     per_epoch=at_epoch_end)
    reached = next((t for t, acc in marks if acc >= args.target_acc), None)
    out.update(lr=lr, n_epochs=epochs, curve=marks, time_to_target=reached,
               final_acc=marks[-1][1] if marks else None)
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="cnn-tui engine vs the pytorch/examples MNIST loop")
    p.add_argument("--data-dir", required=True, help="MNIST root (torchvision layout)")
    p.add_argument("--device", default="auto", help="auto, cuda, cpu (the engine's choice for auto)")
    p.add_argument("--limit", type=int, help="training images per epoch (e.g. 10000 on a CPU)")
    p.add_argument("--limit-test", type=int, help="test images for the accuracy column")
    p.add_argument("--epochs", type=int, default=1, help="epochs per speed row")
    p.add_argument("--seconds", type=float, help="cap each reference epoch at this many seconds")
    p.add_argument("--skip", default="", help="comma list of rows to skip: reference,same,default,advanced")
    p.add_argument("--target-acc", type=float, help="also run the fast mode to this test accuracy")
    p.add_argument("--fast-lr", default="0.006", help="comma list of peak learning rates (fast mode)")
    p.add_argument("--fast-epochs", default="4", help="comma list of epoch counts (fast mode)")
    p.add_argument("--fast-batch", type=int, default=1024)
    p.add_argument("--compile", action="store_true", help="torch.compile the engine's model")
    p.add_argument("--repeat", type=int, default=1,
                   help="run the speed rows N times, interleaved, and keep each row's best "
                        "(for machines shared with other work)")
    p.add_argument("--threads", type=int, help="CPU threads for every row (default: all cores)")
    p.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = p.parse_args(argv)
    if args.threads:
        os.environ["CNN_TUI_THREADS"] = str(args.threads)
    from cnn_tui.train.device import cpu_threads
    torch.set_num_threads(cpu_threads())  # the reference gets the same threads as the engine

    from cnn_tui.spec.model import Architecture
    from cnn_tui.train.device import resolve_device
    dev = resolve_device(args.device)
    skip = set(filter(None, args.skip.split(",")))
    runs_dir = Path(tempfile.mkdtemp(prefix="cnn-tui-bench-"))
    rows = []
    try:
        net = Architecture.from_dict(NET_ARCH)
        for _ in range(max(1, args.repeat)):
            speed_rows(args, dev, skip, net, runs_dir, rows)
        rows = best_of(rows)
        fast = []
        if args.target_acc:
            for lr in [float(x) for x in args.fast_lr.split(",")]:
                for ep in [int(x) for x in args.fast_epochs.split(",")]:
                    r = fast_run(args, runs_dir, lr, ep, args.fast_batch)
                    fast.append(r)
                    add(rows, {"loop": f"fast lr={lr} ep={ep}", "net": "Advanced", **r})
    finally:
        shutil.rmtree(runs_dir, ignore_errors=True)
    return report(args, dev, rows)


def add(rows: list[dict], row: dict) -> None:
    """Keep a row, and say so on stderr at once: a run cut short by a time limit (the device
    session's steps are capped) still shows the rows it finished."""
    rows.append(row)
    print(f"  {row['loop']} ({row['net']}): {row['images_per_s']:,.0f} images/s, "
          f"{row['train_seconds']:.2f} s", file=sys.stderr, flush=True)


def best_of(rows: list[dict]) -> list[dict]:
    """With --repeat, keep each row's fastest run (the least disturbed by other processes)."""
    best: dict[tuple, dict] = {}
    for r in rows:
        key = (r["loop"], r["net"])
        r.setdefault("runs", 1)
        if key in best:
            r["runs"] = best[key]["runs"] + 1
            r["all_images_per_s"] = best[key].get("all_images_per_s", [best[key]["images_per_s"]]) \
                + [r["images_per_s"]]
            if r["images_per_s"] <= best[key]["images_per_s"]:
                keep = dict(best[key], runs=r["runs"], all_images_per_s=r["all_images_per_s"])
                best[key] = keep
                continue
        best[key] = r
    return list(best.values())


def speed_rows(args, dev, skip, net, runs_dir, rows) -> None:
    from cnn_tui.spec.templates import get_template
    if "reference" not in skip:
        ref = run_reference(args.data_dir, str(dev.torch_device), args.epochs, args.limit,
                            args.limit_test, args.seconds)
        add(rows, {"loop": "reference", "net": "Net", "batch": 64, **ref})
    if "same" not in skip:
        add(rows, {"loop": "engine (same batch)", "net": "Net",
                     **engine_run(net, {"epochs": args.epochs, "val_size": 0}, args, runs_dir,
                                  args.limit, args.limit_test)})
    if "default" not in skip:
        arch = net.copy()
        arch.training.pop("batch_size")  # the engine picks the device's batch size
        add(rows, {"loop": "engine (defaults)", "net": "Net",
                     **engine_run(arch, {"epochs": args.epochs, "val_size": 0}, args, runs_dir,
                                  args.limit, args.limit_test)})
        if dev.kind == "cuda":
            add(rows, {"loop": "engine (batch 1024)", "net": "Net",
                         **engine_run(arch, {"epochs": args.epochs, "val_size": 0,
                                             "batch_size": 1024}, args, runs_dir,
                                      args.limit, args.limit_test)})
    if "advanced" not in skip:
        batches = [None] + ([1024] if dev.kind == "cuda" else [])
        for b in batches:
            cfg = {"epochs": args.epochs, "val_size": 0}
            if b:
                cfg["batch_size"] = b
            add(rows, {"loop": "engine (file)" if b is None else f"engine (batch {b})",
                         "net": "Advanced",
                         **engine_run(get_template("advanced"), cfg, args, runs_dir,
                                      args.limit, args.limit_test)})


def report(args, dev, rows) -> int:
    ref_rate = next((r["images_per_s"] for r in rows if r["loop"] == "reference"), None)
    for r in rows:
        r["ratio"] = r["images_per_s"] / ref_rate if ref_rate else None
        r.setdefault("device", dev.kind)
    if args.json:
        print(json.dumps({"device": dev.kind, "device_name": dev.name, "threads": torch.get_num_threads(),
                          "rows": [{k: v for k, v in r.items() if k != "epochs"} for r in rows]},
                         indent=2))
        return 0
    print(f"device: {dev.kind} ({dev.name}), torch {torch.__version__}, "
          f"threads {torch.get_num_threads()}, limit {args.limit or 'all'}, epochs {args.epochs}")
    print(f"{'loop':<24} {'net':<9} {'batch':>5} {'images/s':>10} {'ratio':>6} {'test acc':>8} "
          f"{'train s':>8} {'to target':>9}")
    for r in rows:
        ratio = f"{r['ratio']:.2f}x" if r["ratio"] else "-"
        acc = f"{100 * r['test_acc']:.2f}%" if r.get("test_acc") is not None else "-"
        if r.get("final_acc") is not None:
            acc = f"{100 * r['final_acc']:.2f}%"
        tt = r.get("time_to_target")
        target = "-" if "time_to_target" not in r else ("not hit" if tt is None else f"{tt:.2f}s")
        print(f"{r['loop']:<24} {r['net']:<9} {r.get('batch', r.get('batch_size', '')):>5} "
              f"{r['images_per_s']:>10,.0f} {ratio:>6} {acc:>8} {r['train_seconds']:>8.2f} {target:>9}")
        if r.get("all_images_per_s"):
            print("    runs: " + ", ".join(f"{x:,.0f}" for x in r["all_images_per_s"]))
        if r.get("curve"):
            print("    " + "  ".join(f"{t:.2f}s:{100 * a:.2f}%" for t, a in r["curve"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
