#!/usr/bin/env bash
# res128 of docs/experiments/fidelity.md ("Resolution: res128, the shipped architecture at 128 x
# 512"), as fixed there: the shipped model's preset at 128 x 512 (the presets' schedule-shift rule
# gives 0.25) trained from scratch with the shipped model's recipe (3,000 steps of 16, 48,000
# images) on the 3,000 generator_train patients of train-noisy simulated at 128 x 512; its
# generated scans resampled to the audit's 64 x 256 (`dataset resample`, counts preserved) and
# audited as every 600-scan cell, beside a control (600 simulator scans made at 128 x 512 and
# resampled the same way) and the shipped model at the same cell; three interleaved speed rounds
# beside the shipped model (run it with nothing else running); obedience (version 2) against a
# reference simulated at 128 x 512. Resumable: rerun it after a stop; training continues from its
# last checkpoint (every 250 steps).
#   scripts/experiments/res128.sh [workdir]     # default build/fidelity
# Cost on the 2-core development machine: training about 3.5 h (3.8 images/s measured alone), the
# rest about 1 h (the model generates about a quarter as fast as the shipped one).
set -uo pipefail
# shellcheck source=fidelity_lib.sh
source "$(dirname "$0")/fidelity_lib.sh"
enter_work "${1:-build/fidelity}" || exit 1
train_noisy || exit 1
mkdir -p r128 || exit 1
# the shipped model's preset at 128 x 512, schedule shift by the presets' rule 64 / sqrt(H W)
[ -f r128/builtin128.json ] || python3 -c "import json, sys; c = json.load(open(sys.argv[1])); \
c.update(height=512, width=128, schedule_shift=0.25, preset='builtin128'); \
json.dump(c, open(sys.argv[2], 'w'), indent=2)" "$ROOT/configs/gen/builtin.json" r128/builtin128.json || exit 1
# the same 3,000 patients as train-noisy (simulate seed 2026), at 128 x 512
[ -d r128/train128 ] || "$BIN" simulate --site generator_train --n 3000 --seed 2026 --size 128x512 \
  --out r128/train128 -q || exit 1
[ -d r128/train128-64 ] || "$BIN" dataset resample r128/train128 --size 64x256 --out r128/train128-64 -q || exit 1
R=()
[ -f res128/run.json ] && R=(--resume)
nice -n 19 "$BIN" train --data r128/train128 --preset r128/builtin128.json --out res128 "${R[@]}" --steps 3000 \
  --batch 16 --lr 5e-4 --warmup 100 --ema 0.998 --seed 2026 --bf16 --threads 2 --checkpoint-every 250 \
  --val-every 250 --sample-every 1000 --log-every 25 || exit 1

# ev_resampled TAG MODEL G S "GENERATE FLAGS" [audit flags]: ev's 600 scans (seed 7003) at the
# model's grid, resampled to 64 x 256 as syn-TAG, and their audit (memorisation against the
# training patients resampled the same way; membership skipped: it needs the model's own grid).
ev_resampled() {
  local tag=$1 model=$2 g=$3 s=$4 gf=$5
  shift 5
  if [ ! -f "syn-$tag.done" ]; then
    rm -rf "r128/gen-$tag" "syn-$tag"
    # shellcheck disable=SC2086
    nice -n 19 "$BIN" generate --model "$model" --n 600 --seed 7003 --guidance "$g" --steps "$s" \
      --out "r128/gen-$tag" --threads 2 -q $gf || return 1
    "$BIN" dataset resample "r128/gen-$tag" --size 64x256 --out "syn-$tag" -q || return 1
    touch "syn-$tag.done"
  fi
  [ -f "audit-$tag/audit.json" ] || nice -n 19 "$BIN" audit --real real --synthetic "syn-$tag" --encoder enc \
    --out "audit-$tag" --seed 1 --threads 2 --train r128/train128-64 --skip membership -q "$@"
}

# the sampler defaults of 2026-12-06, named so that later defaults do not change them (cpu5m's cells)
DEFAULT="--precision bf16 --guidance-interval 0.05,0.7 --spacing logsnr"
read -ra D <<<"$DEFAULT"
for round in 1 2 3; do
  speed "r128-base-g1-quadratic-fp32-r$round" builtin 1 10 --precision fp32 --spacing quadratic || exit 1
  speed "r128-C2-gi1.5-logsnr-r$round" builtin 1.5 10 "${D[@]}" || exit 1
  speed "r128-res128-gi1.5-s10-bf16-r$round" res128 1.5 10 "${D[@]}" || exit 1
done
# the control: simulator scans made at 128 x 512 (seed 7003) and resampled, against the same real scans
if [ ! -f syn-sim128-control.done ]; then
  rm -rf r128/sim128 syn-sim128-control
  "$BIN" simulate --site generator_train --n 600 --seed 7003 --size 128x512 --out r128/sim128 -q &&
    "$BIN" dataset resample r128/sim128 --size 64x256 --out syn-sim128-control -q || exit 1
  touch syn-sim128-control.done
fi
[ -f audit-sim128-control/audit.json ] || nice -n 19 "$BIN" audit --real real --synthetic syn-sim128-control \
  --encoder enc --out audit-sim128-control --seed 1 --threads 2 --skip membership -q || exit 1
# the shipped model at the same cell, as every 600-scan table's default row
ev C2-gi1.5-logsnr builtin 1.5 10 "$DEFAULT" --train train-noisy --model builtin || exit 1
ev_resampled res128-gi1.5-s10-bf16 res128 1.5 10 "$DEFAULT" || exit 1
ev_resampled res128-g1-s10-bf16 res128 1 10 "--precision bf16 --spacing logsnr" || exit 1
[ -d r128/obedience-ref ] || "$BIN" simulate --site generator_train --n 400 --seed 77 --size 128x512 -q \
  --out r128/obedience-ref || exit 1
for cell in "res128-gi1.5-s10-bf16 1.5 ${DEFAULT}" "res128-g1-s10-bf16 1 --precision bf16 --spacing logsnr"; do
  read -r tag g flags <<<"$cell"
  [ -f "obedience-$tag.json" ] && continue
  # shellcheck disable=SC2086
  nice -n 19 "$BIN" model check res128 --reference r128/obedience-ref --n 24 --steps 10 --guidance "$g" --seed 3 \
    --threads 2 -q $flags --out "obedience-$tag.json.tmp"
  [ $? -le 1 ] || exit 1
  mv "obedience-$tag.json.tmp" "obedience-$tag.json"
done
python3 "$ROOT/scripts/experiments/guidance_steps_table.py" . --res128 >res128_table.md
cat res128_table.md
