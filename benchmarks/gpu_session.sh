#!/usr/bin/env bash
# Everything a lent GPU session should measure, in one device call (at most 8.5 minutes; each
# step capped). From the repository root on the device machine:
#     bash benchmarks/gpu_session.sh .devdata     # .devdata: a copy of ../shared/data, carried
# with optuna and its needs installed first and on PYTHONPATH (the device has no optuna; see
# the README's "Benchmarks"). Two chains run side by side on separate cores:
# - GPU (every other core): the engine's CUDA checks (benchmarks/gpu_check.py); the speed table
#   against the pytorch/examples reference with the time to 99.2%; a sweep's trials/minute with
#   --per-gpu 1, 2, 4 (the figure that picks the default); the engine rows with torch.compile.
# - CPU (two cores on different physical cores, no GPU visible): the sweep workers figure,
#   2 workers vs 1 at 1 thread each, beside the plain-loop ceiling of the same two cores.
# Logs go to $OUT/gpu_chain.txt and $OUT/cpu_chain.txt when $OUT is set (else /tmp).
# STEPS (default checks,speed,sweep,compile,cpu) picks steps for a rerun; PER_GPU (default
# 1,2,4) the workers per GPU the sweep step compares.
set -u
DATA="${1:-.devdata}"
export PYTHONPATH=".${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
DIR="${OUT:-/tmp}"
STEPS=",${STEPS:-checks,speed,sweep,compile,cpu},"
has() { [[ "$STEPS" == *",$1,"* ]]; }
# two logical cores that are not hyperthreads of one physical core for the CPU chain, the rest
# for the GPU chain (taskset; unpinned where it or the topology is missing)
read -r CPU_SET GPU_SET < <(python3 - <<'PY'
import os
def parse(text):
    out = set()
    for part in text.strip().split(","):
        a, _, b = part.partition("-")
        if a:
            out.update(range(int(a), int(b or a) + 1))
    return out
cpus = sorted(os.sched_getaffinity(0))
try:
    siblings = parse(open(f"/sys/devices/system/cpu/cpu{cpus[0]}/topology/thread_siblings_list").read())
except (OSError, ValueError):
    siblings = {cpus[0]}
other = [c for c in cpus if c not in siblings]
pair = [cpus[0], other[0] if other else cpus[1]] if len(cpus) >= 4 else []
rest = [c for c in cpus if c not in pair]
print(",".join(map(str, pair)) or "-", ",".join(map(str, rest)) if pair else "-")
PY
)
PIN_GPU=(); PIN_CPU=()
if command -v taskset >/dev/null && [ "$CPU_SET" != "-" ]; then
  PIN_GPU=(taskset -c "$GPU_SET"); PIN_CPU=(taskset -c "$CPU_SET")
fi

cpu_chain() {
  echo "== sweep workers on two CPU cores (${PIN_CPU[*]:-not pinned}), 1 thread each"
  cat /sys/devices/system/cpu/cpu0/topology/thread_siblings_list 2>/dev/null \
      | sed 's/^/cpu0 shares its physical core with: /'
  "${PIN_CPU[@]}" python3 -c "import os; print('cores this chain may use:', len(os.sched_getaffinity(0)))"
  CUDA_VISIBLE_DEVICES= CNN_TUI_THREADS=1 timeout 420 "${PIN_CPU[@]}" python3 \
      benchmarks/sweep_workers.py --data-dir "$DATA" --workers 1,2 --trials 8 --limit-train 60000
  echo "cpu chain exit $?"
}
CPU_PID=
if has cpu; then cpu_chain >"$DIR/cpu_chain.txt" 2>&1 & CPU_PID=$!; fi

{
  date -u
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
  python3 -c "import torch, sys; print('python', sys.version.split()[0], 'torch', torch.__version__)"
  python3 -c "import optuna; print('optuna', optuna.__version__)" || echo "optuna missing: the sweep rows will fail"
  python3 -c "import torchvision" 2>/dev/null || echo "torchvision missing: the reference row will fail"
  has checks && echo "== engine checks" && timeout 120 "${PIN_GPU[@]}" python3 benchmarks/gpu_check.py --data-dir "$DATA"
  has speed && echo "== speed and time to 99.2% (reference, same Net, defaults, Advanced, fast mode)" \
      && timeout 130 "${PIN_GPU[@]}" python3 benchmarks/train_speed.py --data-dir "$DATA" --epochs 2 \
      --target-acc 0.992 --fast-lr 0.006 --fast-epochs 4
  has sweep && echo "== sweep trials/minute by workers per GPU (12 random-search trials, 60,000 images, 1 epoch)" \
      && timeout 160 "${PIN_GPU[@]}" python3 benchmarks/sweep_workers.py --data-dir "$DATA" \
      --per-gpu "${PER_GPU:-1,2,4}" --trials 12 --limit-train 60000 --limit-test 2000
  has compile && echo "== the engine's Net rows with torch.compile (each row compiles anew)" \
      && timeout 100 "${PIN_GPU[@]}" python3 benchmarks/train_speed.py --data-dir "$DATA" \
      --epochs 2 --skip reference,same,advanced --compile
} 2>&1 | tee "$DIR/gpu_chain.txt"

if [ -n "$CPU_PID" ]; then wait "$CPU_PID"; cat "$DIR/cpu_chain.txt"; fi
