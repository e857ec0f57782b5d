#!/usr/bin/env bash
# Train every lite model on the CPU in the paper's data flow; safe to re-run: each stage resumes from its last
# checkpoint (a finished stage only re-exports). Two chains run side by side with one torch thread each (on 2
# cores this is steadier than one chain with two threads when anything else runs):
#   A: line extractor -> face locator -> FaceFit (on its own wider-posed world, data/fit128) -> (waits for the
#      CycleGAN sketches) -> DP-CoarseNet -> FineNet (what the app needs)
#   B: CycleGAN -> CycleGAN sketch of every photo -> D-Net -> SP-CoarseNet -> SP-CoarseNet-
#      -> DP loss ablations (Table 4) -> (waits for DP) -> FineNet L_dis+L_3d ablation (Table 6)
#   seeds (after A): D-Net, FineNet, SP-CoarseNet(-) again with seed 1 and 2, for the spread over seeds
# Usage: scripts/train_lite.sh [A|B|all|seeds] [DP_STEPS]   (logs: runs/lite/chain-A.log, chain-B.log)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
DATA=data/syn128
FIT_DATA=data/fit128
DP_STEPS=${2:-18000}
train() { "$PY" -m sketchface train "$@" threads=1 --resume; }
wait_for() { while [ ! -e "$1" ]; do sleep 20; done; }
[ -f $DATA/meta.json ] || "$PY" -m sketchface make-data --out $DATA --n 4000 --size 128
SKETCHES_DONE=$DATA/.cyclegan_sketches_done
chain_a() {
  train lines --config configs/lite/lines.yaml
  [ -f runs/lite/locator/final/config.json ] || train locator --config configs/lite/locator.yaml data=$DATA
  if [ ! -f runs/lite/facefit/final/config.json ]; then   # docs/TRAINING.md, "FaceFit"
    [ -f $FIT_DATA/meta.json ] || "$PY" -c "from sketchface.data.make_data import make_data; make_data('$FIT_DATA', \
      12000, size=128, variants=1, max_yaw=30.0, max_pitch=15.0, max_roll=12.0, scale_jitter=0.12, offset_jitter=0.05)"
    OMP_NUM_THREADS=1 "$PY" -m sketchface train-facefit --data $FIT_DATA --out runs/lite/facefit/final --steps 10000 \
      --no-progress
  fi
  wait_for $SKETCHES_DONE
  train coarse --config configs/lite/coarse_dp.yaml steps=$DP_STEPS
  train fine --config configs/lite/fine.yaml
}
chain_b() {
  train cyclegan --config configs/lite/cyclegan.yaml
  if [ ! -e $SKETCHES_DONE ]; then
    "$PY" -m sketchface synthesize-sketches --data $DATA --cyclegan runs/lite/cyclegan/final
    touch $SKETCHES_DONE
  fi
  train coarse --config configs/lite/coarse_sp.yaml variant=dnet steps=1500
  train coarse --config configs/lite/coarse_sp.yaml variant=sp
  train coarse --config configs/lite/coarse_sp.yaml variant=sp-
  for loss in La Lb Lc; do
    train coarse --config configs/lite/coarse_dp.yaml loss=$loss steps=800 export_at=[]
  done
  wait_for runs/lite/coarse-dp-full/final/config.json
  train fine --config configs/lite/fine.yaml loss=dis+3d steps=600 dis_scale=255
}
chain_seeds() {   # the spread over seeds in docs/RESULTS.md: the cheap stages again with seed 1 and 2
  wait_for runs/lite/fine-line+dis/final/config.json
  # folder names are those of the checkpoint bundle (evaluate pairs RUNS/seeds/<folder>-sN with checkpoints/<folder>)
  for s in 1 2; do
    train coarse --config configs/lite/coarse_sp.yaml variant=dnet steps=1500 seed=$s out=runs/lite/seeds/dnet-s$s
    train fine --config configs/lite/fine.yaml seed=$s out=runs/lite/seeds/finenet-s$s
  done
  for s in 1 2; do   # is SP- < SP (the paper) or SP < SP- (seed 0) more than seed noise?
    train coarse --config configs/lite/coarse_sp.yaml variant=sp- seed=$s out=runs/lite/seeds/sp_coarse_minus-s$s
    train coarse --config configs/lite/coarse_sp.yaml variant=sp seed=$s out=runs/lite/seeds/sp_coarse-s$s
  done
}
mkdir -p runs/lite
case "${1:-all}" in
  A) chain_a ;;
  B) chain_b ;;
  seeds) chain_seeds ;;
  all) chain_a > runs/lite/chain-A.log 2>&1 & chain_b > runs/lite/chain-B.log 2>&1; wait ;;
esac
echo "done: ${1:-all}"
