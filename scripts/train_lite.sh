#!/usr/bin/env bash
# Train every lite model on the CPU, one stage after another; safe to re-run: each stage resumes from its
# last checkpoint (a finished stage only re-exports). Needs data/syn128 (see configs/lite/*.yaml).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
train() { "$PY" -m sketchface train "$@" --resume; }
[ -f data/syn128/meta.json ] || "$PY" -m sketchface make-data --out data/syn128 --n 4000 --size 128
train lines --config configs/lite/lines.yaml
train coarse --config configs/lite/coarse_dp.yaml
train fine --config configs/lite/fine.yaml
train coarse --config configs/lite/coarse_sp.yaml variant=dnet steps=1500
train coarse --config configs/lite/coarse_sp.yaml variant=sp
train coarse --config configs/lite/coarse_sp.yaml variant=sp-
train cyclegan --config configs/lite/cyclegan.yaml
for loss in La Lb Lc; do
  train coarse --config configs/lite/coarse_dp.yaml loss=$loss steps=800
done
train fine --config configs/lite/fine.yaml loss=dis+3d steps=600
echo "all lite stages trained"
