#!/usr/bin/env bash
# Train the four shipped models in parallel on one GPU machine (data synthesis is
# CPU-bound and single-threaded per run, so four runs share the GPU well).
# Usage: scripts/train_all_gpu.sh DATA_FOLDER OUT_FOLDER [MAX_MINUTES]
set -u
data=$1; out=$2; minutes=${3:-7}
mkdir -p "$out" runs
export OMP_NUM_THREADS=3 PYTHONUNBUFFERED=1
for model in unet-native hybrid-mnv3 singlehdr layered; do
  python3 -m hdr_plugin.cli train "configs/train/$model.toml" --no-progress \
    --set "data='$data'" --set "output='runs/$model'" --set "device='cuda'" \
    --set "max_minutes=$minutes" > "runs/$model.log" 2>&1 &
done
wait
for model in unet-native hybrid-mnv3 singlehdr layered; do
  cp "runs/$model/$model.safetensors" "runs/$model/$model.json" "$out/" 2>/dev/null
  echo "== $model"; grep -E "^step|stopping|wrote|rror" "runs/$model.log" | tail -n 4
done
