#!/usr/bin/env bash
# Train one model on a GPU machine for a fixed wall time: the network on CUDA, batches
# synthesised by worker processes on all cores but two, the learning rate annealed by the
# clock (config max_minutes), and the weights of every checkpoint kept as
# RUN/steps/step_N.safetensors for scripts/select_checkpoint.py.
#
# Usage: scripts/train_on_gpu.sh CONFIG DATA RUN MINUTES [--set KEY=VALUE ...]
#   DATA: the shared HDR folder, or its copy by scripts/pack_training_data.py
set -euo pipefail
config=$1 data=$2 run=$3 minutes=$4
shift 4
cores=$(nproc)
workers=$((cores > 3 ? cores - 2 : 1))
mkdir -p "$run/steps"
export PYTHONUNBUFFERED=1 OMP_NUM_THREADS=2
python3 - "$run" <<'PY' &
import json, sys, time
from pathlib import Path
from safetensors.torch import load_file, save_file

run = Path(sys.argv[1])
kept = None
while True:
    time.sleep(2)
    try:
        step = json.loads((run / "checkpoint.json").read_text())["step"]
        if step == kept:
            continue
        tensors = load_file(str(run / "checkpoint.safetensors"))
        if json.loads((run / "checkpoint.json").read_text())["step"] != step:
            continue  # replaced while read: the next turn takes it
    except (OSError, ValueError, KeyError):
        continue
    model = {k[6:]: v.contiguous() for k, v in tensors.items() if k.startswith("model.")}
    save_file(model, str(run / "steps" / f"step_{step}.safetensors"))
    print(f"kept the weights of step {step}", flush=True)
    kept = step
PY
keeper=$!
trap 'kill $keeper 2>/dev/null' EXIT
python3 -m hdr_plugin train "$config" --no-progress --set "data='$data'" \
  --set "output='$run'" --set "device='cuda'" --set "workers=$workers" \
  --set "max_minutes=$minutes" "$@"
sleep 3  # the keeper takes the last checkpoint
