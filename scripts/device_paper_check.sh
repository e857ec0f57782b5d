#!/usr/bin/env bash
# The paper preset on one CUDA GPU, in one short run (sized for under 8 minutes on one H200; not yet run on
# one): make 256-px data, measure the training throughput (images/s) of every stage with `bench-train`, then
# train DP-CoarseNet for a few minutes with mixed precision and keep its loss curve. Everything it reports
# lands in $OUT (default out/device).
#
# The face model must be readable inside the repository on the GPU machine, e.g. copied to an ignored folder:
#   cp -r "$SKETCHFACE_FACE_MODEL" data/ict_face_light      # then carry data/ict_face_light
#   scripts/device_paper_check.sh
# Knobs (environment): PRESET (paper; lite, 128 px, is a quick dry run on a CPU), N samples (1024), STEPS
# timed per stage (30) after WARMUP (5), DP_SECONDS of DP training (180), AMP_STEPS of the mixed-precision run of
# every stage (40), PY (python3).
set -euo pipefail
OUT=${OUT:-out/device}
PY=${PY:-python3}
N=${N:-1024}
PRESET=${PRESET:-paper}
SIZE=$([ "$PRESET" = lite ] && echo 128 || echo 256)
DATA=data/syn$SIZE
STEPS=${STEPS:-30}
DP_SECONDS=${DP_SECONDS:-180}
WARMUP=${WARMUP:-5}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
export SKETCHFACE_FACE_MODEL=${SKETCHFACE_FACE_MODEL:-data/ict_face_light}
mkdir -p "$OUT"
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || true
  "$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"; } > "$OUT/machine.txt"
cat "$OUT/machine.txt"

t0=$(date +%s)
[ -f $DATA/meta.json ] || "$PY" -m sketchface make-data --out $DATA --n "$N" --size $SIZE --workers "$(nproc)"
echo "make-data: $(( $(date +%s) - t0 )) s for $N samples" | tee "$OUT/make_data.txt"

"$PY" -m sketchface bench-train --preset $PRESET --data $DATA --steps "$STEPS" --warmup "$WARMUP" \
  --out "$OUT/BENCHMARKS_TRAIN.md" --note "$PRESET preset, $N-sample $SIZE-px data made on the machine."
cat "$OUT/BENCHMARKS_TRAIN.md"

# A short DP-CoarseNet run: the loss curve shows mixed-precision training is sound at the paper's size.
timeout "$DP_SECONDS" "$PY" -m sketchface train coarse --config configs/$PRESET/coarse_dp.yaml data=$DATA \
  out=runs/device/coarse-dp steps=100000 log_every=20 ckpt_every=500 sample_every=100000 --no-progress || true
cp runs/device/coarse-dp/metrics.csv "$OUT/dp_metrics.csv" 2>/dev/null || echo "no DP metrics written"
tail -n 3 "$OUT/dp_metrics.csv" 2>/dev/null || true

# Every stage through the Trainer with mixed precision, gradient clipping, accumulation, a validation loss and
# DataLoader workers: the losses stay finite and the GradScaler's scale is in the checkpoint (docs/TRAINING.md).
AMP_STEPS=${AMP_STEPS:-40}
amp() { "$PY" -m sketchface train "$@" preset=$PRESET data=$DATA steps=$AMP_STEPS log_every=10 val_every=20 \
  grad_clip=1.0 accumulate=2 workers=4 ckpt_every=$AMP_STEPS sample_every=$AMP_STEPS --no-progress; }
: > "$OUT/amp_stages.txt"
for run in "cyclegan out=runs/device/amp-cyclegan" "coarse variant=dp out=runs/device/amp-coarse" \
           "lines out=runs/device/amp-lines" "locator batch_size=64 out=runs/device/amp-locator" \
           "fine coarse_ckpt=runs/device/amp-coarse/final lines_ckpt=runs/device/amp-lines/final out=runs/device/amp-fine" \
           "facefit batch_size=48 out=runs/device/amp-facefit" \
           "facecheck batch_size=64 facecheck.n_synthetic=300 facecheck.n_not=300 facecheck.progress=false out=runs/device/amp-facecheck"; do
  set -- $run
  t1=$(date +%s)
  if amp "$@" > "$OUT/amp_$1.log" 2>&1; then status=ok; else status=FAILED; fi
  echo "$1: $status in $(( $(date +%s) - t1 )) s; $(tail -n 1 "$OUT/amp_$1.log")" | tee -a "$OUT/amp_stages.txt"
  cp "${run##*out=}/metrics.csv" "$OUT/amp_$1_metrics.csv" 2>/dev/null || true
done
