"""What only a GPU can show: the engine's CUDA paths checked for real, figures printed.

    PYTHONPATH=. python3 benchmarks/gpu_check.py --data-dir .devdata [--device cuda] [--only NAMES]

Needs only torch and numpy (the device machines have no pytest and no textual). Each check
prints one PASS/FAIL line with its figures; the exit status is the number of failures.

- fastpath  the training fast path (fused pool/activation order, in-place ReLUs, channels_last
            flatten) gives the model's own outputs and gradients on the device, in fp32 (TF32
            off) and under bf16 autocast, for every template and two hand-made stacks
- oom       with this process held to a small share of GPU memory, a batch that cannot fit is
            halved until it does: the run finishes, says so, and records the smaller batch
- kill9     `python -m cnn_tui train` killed with SIGKILL in epoch 3 resumes at epoch 3 with
            epochs 1-2 intact, on the device (CUDA RNG state included in the checkpoint)
- cli       `cnn-tui train template:beginner --epochs 1 --json` on the device: the device is
            recorded, bf16/channels_last run, accuracy >= 97%

On a CPU (`--device cpu`) the same script runs as a dry run of its own logic (oom is skipped).
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from source_env import source_env  # noqa: E402  (benchmarks/ is this script's folder)

import torch  # noqa: E402
from torch import nn  # noqa: E402

from cnn_tui.spec.model import Architecture, Layer  # noqa: E402
from cnn_tui.spec.templates import TEMPLATES, get_template  # noqa: E402
from cnn_tui.train.build import build_model  # noqa: E402
from cnn_tui.train.fastpath import training_forward  # noqa: E402

L = Layer.make
HAND = {
    "pool-after-act": [L("conv2d", filters=8, kernel_size=3, activation="relu"),
                       L("conv2d", filters=16, kernel_size=3, activation="leaky_relu"),
                       L("maxpool2d", pool_size=2), L("dropout", rate=0.25), L("flatten"),
                       L("dense", units=32, activation="relu"), L("dense", units=10)],
    "standalone": [L("conv2d", filters=4, kernel_size=3), L("batchnorm"), L("relu"),
                   L("maxpool2d", pool_size=2), L("conv2d", filters=4, kernel_size=3),
                   L("leaky_relu"), L("maxpool2d", pool_size=2, padding="same"), L("flatten"),
                   L("batchnorm"), L("relu"), L("dense", units=10)],
}


def _worst(a, b) -> float:
    return float((a.float() - b.float()).abs().max()) / (float(b.float().abs().max()) + 1e-12)


def check_fastpath(args) -> tuple[bool, str]:
    dev = torch.device(args.device)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    worst = {"fp32": 0.0, "bf16": 0.0}
    failures = []
    cases = {name: get_template(name) for name in TEMPLATES}
    cases.update({name: Architecture(layers, name=name) for name, layers in HAND.items()})
    for name, arch in cases.items():
        torch.manual_seed(0)
        model = build_model(arch).to(dev, memory_format=torch.channels_last).train()
        for m in model.modules():
            if isinstance(m, nn.Dropout):
                m.p = 0.0  # the only randomness
        fast = training_forward(model, dev.type)
        x = torch.randn(64, 1, 28, 28, device=dev).contiguous(memory_format=torch.channels_last)
        y = torch.randint(0, 10, (64,), device=dev)
        names = [n for n, _ in model.named_parameters()]
        for mode in ("fp32", "bf16"):
            def grads(fn, model=model, mode=mode, x=x, y=y):
                model.zero_grad(set_to_none=True)
                with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=mode == "bf16"):
                    out = fn(x)
                nn.functional.cross_entropy(out.float(), y).backward()
                return out.detach(), [p.grad.detach().clone() for p in model.parameters()]
            out_a, g_a = grads(model)
            out_b, g_b = grads(fast)
            # each gradient against its own scale, except those that are zero in exact
            # arithmetic (a conv bias right before a batch norm: ~1e-7 against the model's
            # ~1e-1): both sides are rounding noise that cuDNN's kernels order differently, so
            # they are held to the model's largest gradient instead (on an H200 such a bias
            # differed by 2.6e-8: 1 relative to itself, 4e-7 to the model's scale)
            scale = max(float(a.float().abs().max()) for a in g_a)
            errs = [("output", _worst(out_b, out_a))]
            for n, a, b in zip(names, g_a, g_b):
                own = float(a.float().abs().max())
                ref = own if own >= 1e-4 * scale else scale
                errs.append((n, float((b.float() - a.float()).abs().max()) / max(ref, 1e-12)))
            where, err = max(errs, key=lambda e: e[1])
            worst[mode] = max(worst[mode], err)
            limit = 1e-4 if mode == "fp32" else 5e-2
            if err > limit or len(g_a) != len(g_b):
                failures.append(f"{name}/{mode}: {where} relative error {err:.2e} > {limit:.0e}")
    detail = (f"{len(cases)} models; worst relative error fp32 {worst['fp32']:.2e}, "
              f"bf16 {worst['bf16']:.2e}")
    return not failures, detail + ("; " + "; ".join(failures) if failures else "")


def check_oom(args) -> tuple[bool, str]:
    if not args.device.startswith("cuda"):
        return True, "skipped: needs CUDA"
    from cnn_tui.train.checkpointing import Checkpointing
    from cnn_tui.train.events import Log
    from cnn_tui.train.loop import RunOptions, Trainer
    total = torch.cuda.get_device_properties(0).total_memory
    budget = 1.5e9  # bytes this process may hold: MNIST (47 MB) fits, a 16k batch does not
    torch.cuda.set_per_process_memory_fraction(budget / total)
    arch = get_template("advanced")
    config = dict(arch.training, epochs=1, batch_size=16384)
    messages = []
    with tempfile.TemporaryDirectory() as folder:
        opts = RunOptions(data_dir=args.data_dir, limit_train=20000, limit_test=2000,
                          device=args.device, grad_norms_every=0)
        # a retry restarts the epoch from the checkpoint: a run without one cannot halve
        trainer = Trainer(arch, config, opts, [
            Checkpointing(Path(folder)),
            lambda e: messages.append(e.message) if isinstance(e, Log) else None])
        try:
            result = trainer.run()
        finally:
            torch.cuda.set_per_process_memory_fraction(1.0)
            torch.cuda.empty_cache()
    halved = [m for m in messages if "out of memory" in m]
    batch = result.epochs[-1]["batch_size"] if result.epochs else None
    ok = result.status == "finished" and bool(halved) and batch is not None and batch < 16384
    return ok, (f"status {result.status}, {len(halved)} halvings, final batch {batch}, "
                f"test acc {result.test_acc}; first message: {halved[0] if halved else messages[:3]}")


def check_kill9(args) -> tuple[bool, str]:
    from cnn_tui.runs.store import RunStore
    runs = Path(tempfile.mkdtemp(prefix="gpu-kill9-"))
    limit = "60000" if args.device.startswith("cuda") else "2000"
    cmd = [sys.executable, "-m", "cnn_tui", "train", "template:beginner", "--epochs", "4",
           "--limit-train", limit, "--val-size", "1000", "--limit-test", "1000",
           "--batch-size", "64", "--device", args.device, "--data-dir", str(args.data_dir),
           "--runs-dir", str(runs), "--json"]
    env = source_env()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    store = RunStore(runs)
    record = None
    end = time.monotonic() + 240
    try:
        while time.monotonic() < end and proc.poll() is None:
            if (runs / "runs.db").exists():
                found = store.list_runs()
                if found and len(found[0].epochs) >= 2:
                    record = found[0]
                    break
            time.sleep(0.01)
        if record is None:
            return False, f"never saw epoch 2 (exit {proc.poll()}): {proc.stderr.read()[-500:]}"
        time.sleep(0.4 * record.epochs[1]["train_seconds"])
        if proc.poll() is not None:
            return False, "the run ended before the kill: epochs too short to land in epoch 3"
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)
    before = store.get(record.id)
    kept = [round(e["train_loss"], 6) for e in before.epochs]
    resumed = subprocess.run([sys.executable, "-m", "cnn_tui", "train", "--resume", record.id,
                              "--json", "--data-dir", str(args.data_dir), "--runs-dir", str(runs)],
                             cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    if resumed.returncode != 0:
        return False, f"resume exit {resumed.returncode}: {resumed.stderr[-500:]}"
    out = json.loads(resumed.stdout)
    after = [round(e["train_loss"], 6) for e in out["epochs"]]
    ok = (len(kept) == 2 and before.status == "interrupted" and after[:2] == kept
          and [e["epoch"] for e in out["epochs"]] == [1, 2, 3, 4] and out["device"] == record.device)
    return ok, (f"killed with {len(kept)} epochs kept (status {before.status}); resumed to "
                f"{len(after)} epochs on {out['device']}, epochs 1-2 unchanged: {after[:2] == kept}, "
                f"test acc {out['test_acc']:.4f}")


def check_cli(args) -> tuple[bool, str]:
    with tempfile.TemporaryDirectory() as runs:
        env = source_env()
        cmd = [sys.executable, "-m", "cnn_tui", "train", "template:beginner", "--epochs", "1",
               "--device", args.device, "--data-dir", str(args.data_dir), "--runs-dir", runs,
               "--json"]
        if not args.device.startswith("cuda"):
            cmd += ["--limit-train", "5000", "--limit-test", "1000"]
        t0 = time.perf_counter()
        out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
        wall = time.perf_counter() - t0
    if out.returncode != 0:
        return False, f"exit {out.returncode}: {out.stderr[-500:]}"
    res = json.loads(out.stdout)
    want = 0.97 if args.device.startswith("cuda") else 0.85
    ok = res["device"] == args.device.split(":")[0] and res["test_acc"] >= want
    return ok, (f"device {res['device']} ({res.get('device_name', '')}), test acc "
                f"{res['test_acc']:.4f} (>= {want}), {res['images_per_s']:.0f} images/s, "
                f"process wall {wall:.1f} s")


CHECKS = {"fastpath": check_fastpath, "oom": check_oom, "kill9": check_kill9, "cli": check_cli}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", required=True, type=Path)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--only", default=",".join(CHECKS), help="comma list of " + ", ".join(CHECKS))
    args = p.parse_args()
    args.data_dir = args.data_dir.resolve()
    name = torch.cuda.get_device_name(0) if args.device.startswith("cuda") else "cpu"
    print(f"gpu_check on {args.device} ({name}), torch {torch.__version__}", flush=True)
    failed = 0
    for check in args.only.split(","):
        t0 = time.perf_counter()
        try:
            ok, detail = CHECKS[check](args)
        except Exception as exc:  # a check that crashes is a failure with its reason, not the end
            ok, detail = False, f"{type(exc).__name__}: {exc}"
        failed += not ok
        print(f"{'PASS' if ok else 'FAIL'} {check:9s} {time.perf_counter() - t0:6.1f} s  {detail}",
              flush=True)
    return failed


if __name__ == "__main__":
    raise SystemExit(main())
