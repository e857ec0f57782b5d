#!/usr/bin/env bash
# Train every lite model on the CPU; safe to re-run: each stage resumes from its last checkpoint (a finished
# stage only re-exports). Two chains run side by side with one torch thread each (on 2 cores this is steadier
# than one chain with two threads when anything else runs):
#   A: lines -> DP-CoarseNet -> FineNet (what the app needs)
#   B: D-Net -> SP-CoarseNet -> SP-CoarseNet- -> CycleGAN -> DP loss ablations -> FineNet L_dis+L_3d ablation
# Usage: scripts/train_lite.sh [A|B|all]   (logs: runs/lite/chain-A.log, chain-B.log)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
train() { "$PY" -m sketchface train "$@" threads=1 --resume; }
[ -f data/syn128/meta.json ] || "$PY" -m sketchface make-data --out data/syn128 --n 4000 --size 128
chain_a() {
  train lines --config configs/lite/lines.yaml
  train coarse --config configs/lite/coarse_dp.yaml
  train fine --config configs/lite/fine.yaml
}
chain_b() {
  train coarse --config configs/lite/coarse_sp.yaml variant=dnet steps=1500
  train coarse --config configs/lite/coarse_sp.yaml variant=sp
  train coarse --config configs/lite/coarse_sp.yaml variant=sp-
  train cyclegan --config configs/lite/cyclegan.yaml
  for loss in La Lb Lc; do
    train coarse --config configs/lite/coarse_dp.yaml loss=$loss steps=800 export_at=[]
  done
  train fine --config configs/lite/fine.yaml loss=dis+3d steps=600
}
mkdir -p runs/lite
case "${1:-all}" in
  A) chain_a ;;
  B) chain_b ;;
  all) chain_a > runs/lite/chain-A.log 2>&1 & chain_b > runs/lite/chain-B.log 2>&1; wait ;;
esac
echo "done: ${1:-all}"
