"""The pytorch/examples MNIST reference (mnist/main.py), as the example sets it up.

Its Net, Adadelta (lr 1.0), StepLR (gamma 0.7), batch 64 (test batch 1000), a DataLoader over
torchvision's MNIST with ToTensor + Normalize((0.1307,), (0.3081,)), and on an accelerator
num_workers=1, pin_memory=True, shuffle=True (on the CPU the example does not shuffle). Its loop
logs `loss.item()` every 10 batches, as the example does. Used by train_speed.py as the baseline.

torchvision's MNIST reads only the uncompressed IDX files; when the data root holds only the
`.gz` files (cnn-tui accepts both), an extracted copy is made in a temporary folder.
"""

from __future__ import annotations

import gzip
import shutil
import tempfile
import time
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

NAMES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
         "t10k-labels-idx1-ubyte")


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, 1)
        self.conv2 = nn.Conv2d(32, 64, 3, 1)
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(9216, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = self.conv1(x)
        x = F.relu(x)
        x = self.conv2(x)
        x = F.relu(x)
        x = F.max_pool2d(x, 2)
        x = self.dropout1(x)
        x = torch.flatten(x, 1)
        x = self.fc1(x)
        x = F.relu(x)
        x = self.dropout2(x)
        x = self.fc2(x)
        return F.log_softmax(x, dim=1)


# The cnn-tui architecture of the same Net (logits out; the loss is the same cross-entropy).
NET_ARCH = {
    "format": "cnn-tui/architecture", "version": 1, "name": "pytorch/examples Net",
    "layers": [
        {"type": "conv2d", "filters": 32, "kernel_size": 3, "activation": "relu"},
        {"type": "conv2d", "filters": 64, "kernel_size": 3, "activation": "relu"},
        {"type": "maxpool2d", "pool_size": 2},
        {"type": "dropout", "rate": 0.25},
        {"type": "flatten"},
        {"type": "dense", "units": 128, "activation": "relu"},
        {"type": "dropout", "rate": 0.5},
        {"type": "dense", "units": 10},
    ],
    "training": {"optimizer": "adadelta", "learning_rate": 1.0, "schedule": "step",
                 "step_size": 1, "gamma": 0.7, "batch_size": 64},
}


def torchvision_root(root: Path) -> tuple[Path, Path | None]:
    """A root torchvision's MNIST can read; (root, temp folder to delete or None)."""
    raw = Path(root) / "MNIST" / "raw"
    if all((raw / n).is_file() for n in NAMES):
        return Path(root), None
    tmp = Path(tempfile.mkdtemp(prefix="cnn-tui-ref-"))
    out = tmp / "MNIST" / "raw"
    out.mkdir(parents=True)
    for n in NAMES:
        if (raw / n).is_file():
            shutil.copyfile(raw / n, out / n)
        else:
            with gzip.open(raw / (n + ".gz"), "rb") as src, open(out / n, "wb") as dst:
                shutil.copyfileobj(src, dst)
    return tmp, tmp


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def run_reference(data_root, device: str = "cpu", epochs: int = 1, limit: int | None = None,
                  limit_test: int | None = None, seconds: float | None = None, seed: int = 1,
                  log_interval: int = 10) -> dict:
    """Train the reference; returns images/s (training only), train seconds, test accuracy."""
    from torchvision import datasets, transforms
    torch.manual_seed(seed)
    dev = torch.device(device)
    root, tmp = torchvision_root(Path(data_root))
    try:
        train_kwargs = {"batch_size": 64}
        test_kwargs = {"batch_size": 1000}
        if dev.type != "cpu":
            accel = {"num_workers": 1, "pin_memory": True, "shuffle": True}
            train_kwargs.update(accel)
            test_kwargs.update(accel)
        transform = transforms.Compose([transforms.ToTensor(),
                                        transforms.Normalize((0.1307,), (0.3081,))])
        ds1 = datasets.MNIST(str(root), train=True, download=False, transform=transform)
        ds2 = datasets.MNIST(str(root), train=False, transform=transform)
        if limit:
            ds1 = torch.utils.data.Subset(ds1, range(min(limit, len(ds1))))
        if limit_test:
            ds2 = torch.utils.data.Subset(ds2, range(min(limit_test, len(ds2))))
        train_loader = torch.utils.data.DataLoader(ds1, **train_kwargs)
        test_loader = torch.utils.data.DataLoader(ds2, **test_kwargs)
        model = Net().to(dev)
        optimizer = torch.optim.Adadelta(model.parameters(), lr=1.0)
        scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.7)
        train_seconds, images, last_rate = 0.0, 0, 0.0
        for _epoch in range(1, epochs + 1):
            model.train()
            _sync(dev)
            t0 = time.perf_counter()
            seen = 0
            for batch_idx, (data, target) in enumerate(train_loader):
                data, target = data.to(dev), target.to(dev)
                optimizer.zero_grad()
                output = model(data)
                loss = F.nll_loss(output, target)
                loss.backward()
                optimizer.step()
                seen += len(data)
                if batch_idx % log_interval == 0:
                    loss.item()  # the example prints it
                if seconds and time.perf_counter() - t0 > seconds:
                    break
            _sync(dev)
            dt = time.perf_counter() - t0
            train_seconds += dt
            images += seen
            last_rate = seen / dt
            scheduler.step()
        model.eval()
        correct, total = 0, 0
        with torch.no_grad():
            for data, target in test_loader:
                data, target = data.to(dev), target.to(dev)
                correct += model(data).argmax(1).eq(target).sum().item()
                total += len(target)
        return {"images_per_s": last_rate, "mean_images_per_s": images / train_seconds,
                "train_seconds": train_seconds, "images": images, "test_acc": correct / total}
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    import argparse
    import json
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", required=True)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--limit", type=int)
    args = p.parse_args()
    print(json.dumps(run_reference(args.data_dir, args.device, args.epochs, args.limit), indent=2))
