#!/usr/bin/env bash
# Everything a lent GPU session should measure, in one device call (about 4-6 minutes on an
# H100; each step capped). From the repository root on the device machine:
#     bash benchmarks/gpu_session.sh .devdata        # .devdata: a copy of ../shared/data, carried
# Prints the GPU, the engine's CUDA checks (benchmarks/gpu_check.py), the speed table against the
# pytorch/examples reference with the time to 99.2%, and the same with torch.compile; the whole
# log is also written to $OUT/gpu_session.txt when $OUT is set.
set -u
DATA="${1:-.devdata}"
export PYTHONPATH=.
LOG="${OUT:-/tmp}/gpu_session.txt"
{
  date -u
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
  python3 -c "import torch, sys; print('python', sys.version.split()[0], 'torch', torch.__version__)"
  python3 -c "import torchvision" 2>/dev/null || echo "torchvision missing: the reference row will fail"
  echo "== engine checks"
  timeout 240 python3 benchmarks/gpu_check.py --data-dir "$DATA"
  echo "== speed and time to 99.2% (reference, same Net, defaults, Advanced, fast mode)"
  timeout 300 python3 benchmarks/train_speed.py --data-dir "$DATA" --epochs 2 \
      --target-acc 0.992 --fast-lr 0.004,0.008 --fast-epochs 3,4
  echo "== the same engine rows with torch.compile"
  timeout 180 python3 benchmarks/train_speed.py --data-dir "$DATA" --epochs 2 \
      --skip reference,same --compile
} 2>&1 | tee "$LOG"
