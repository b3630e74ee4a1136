# shellcheck shell=bash
# Helpers shared by the generator-fidelity scripts (capacity.sh, fewer_steps.sh, ...); it sets
# ROOT (the checkout) and BIN (the scintigen binary: BIN if set). Every generation uses 2 threads
# that wait passively: with libgomp's spinning default, 2 threads collapse while anything else
# runs (BENCHMARKS.md).
export OMP_WAIT_POLICY=PASSIVE
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=$(realpath "${BIN:-$ROOT/build/apps/scintigen/scintigen}")

# audit_data: the audit's data of docs/AUDIT.md ("The shipped model, audited"), as
# fidelity.sh makes it: 600 real scans (seed 7001) and the encoder (1,200 scans, seed 7002).
audit_data() {
  [ -d real ] || "$BIN" simulate --site generator_train --n 600 --seed 7001 --size 64x256 --out real -q || return 1
  if [ ! -d enc ]; then
    [ -d enc_data ] || "$BIN" simulate --site generator_train --n 1200 --seed 7002 --size 64x256 --out enc_data -q ||
      return 1
    "$BIN" dataset split enc_data --fractions train=0.6,val=0.2,test=0.2 --seed 7 &&
      "$BIN" audit encoder --data enc_data --out enc --seed 1 --threads 1
  fi
}

# enter_work WORKDIR: make and enter the work folder (relative to the checkout), point `builtin`
# at this checkout's model, build the audit data and set ENC to the encoder's short hash.
enter_work() {
  cd "$ROOT" && mkdir -p "$1" && cd "$1" || return 1
  export SCINTIGEN_BUILTIN_MODEL=${SCINTIGEN_BUILTIN_MODEL:-$ROOT/models/builtin}
  audit_data || return 1
  ENC=$(python3 -c "import json; print(json.load(open('enc/encoder.json'))['sha256'][:8])")
  echo "encoder $ENC"
}

# train_noisy: the 3,000 training scans of the shipped model's recipe (simulate seed 2026), as
# train-noisy in the work folder.
train_noisy() {
  [ -d train-noisy ] || "$BIN" simulate --site generator_train --n 3000 --seed 2026 --size 64x256 --out train-noisy -q
}

# names_precision ARGS...: whether the flags name a precision. A cell whose flags do not is fp32,
# as every cell was before generate's default precision became auto.
names_precision() {
  case "$*" in *--bf16* | *--precision*) return 0 ;; *) return 1 ;; esac
}

# names_interval ARGS...: whether the flags name a guidance interval. A cell whose flags do not
# guides every step (0,1), as every cell did before the default became 0.05,0.7.
names_interval() {
  case "$*" in *--guidance-interval*) return 0 ;; *) return 1 ;; esac
}

# names_spacing ARGS...: whether the flags name a time spacing. A cell whose flags do not has
# quadratic steps, as every cell did before the default became logsnr (2026-12-06).
names_spacing() {
  case "$*" in *--spacing*) return 0 ;; *) return 1 ;; esac
}

# builtin_guidance_on MODEL ARGS...: succeeds (prints nothing) unless MODEL is the shipped model
# and the flags name no --guidance-on; then it fails. Since 2026-12-07 the shipped model names its
# own sampler (guidance on metastasis alone, `model sampler`), which generate takes for the flags
# left out; a cell whose flags do not name it guides every condition, as every cell did before.
builtin_guidance_on() {
  local model=$1
  shift
  [ "$model" != builtin ] && return 0
  case "$*" in *--guidance-on*) return 0 ;; *) return 1 ;; esac
}

# speed TAG MODEL G S [generate flags]: seconds for 48 scans, model load included, into
# speed-TAG.json (run it with nothing else running).
speed() {
  local tag=$1 model=$2 g=$3 s=$4
  shift 4
  [ -f "speed-$tag.json" ] && return
  names_precision "$@" || set -- "$@" --precision fp32
  names_interval "$@" || set -- "$@" --guidance-interval 0,1
  names_spacing "$@" || set -- "$@" --spacing quadratic
  builtin_guidance_on "$model" "$@" || set -- "$@" --guidance-on all
  rm -rf speed-tmp
  local t0 t1
  t0=$(date +%s.%N)
  "$BIN" generate --model "$model" --n 48 --seed 9 --guidance "$g" --steps "$s" --out speed-tmp --threads 2 -q "$@" ||
    return 1
  t1=$(date +%s.%N)
  echo "{\"tag\":\"$tag\",\"scans\":48,\"seconds\":$(awk "BEGIN { print $t1 - $t0 }")}" >"speed-$tag.json"
  rm -rf speed-tmp
}

# ev TAG MODEL G S "GENERATE FLAGS" [audit flags]: 600 scans (seed 7003) and their audit.
ev() {
  local tag=$1 model=$2 g=$3 s=$4 gf=$5
  shift 5
  names_precision "$gf" || gf="$gf --precision fp32"
  names_interval "$gf" || gf="$gf --guidance-interval 0,1"
  names_spacing "$gf" || gf="$gf --spacing quadratic"
  builtin_guidance_on "$model" "$gf" || gf="$gf --guidance-on all"
  if [ ! -f "syn-$tag.done" ]; then
    rm -rf "syn-$tag"
    # shellcheck disable=SC2086
    nice -n 19 "$BIN" generate --model "$model" --n 600 --seed 7003 --guidance "$g" --steps "$s" --out "syn-$tag" \
      --threads 2 -q $gf || return 1
    touch "syn-$tag.done"
  fi
  [ -f "audit-$tag/audit.json" ] || nice -n 19 "$BIN" audit --real real --synthetic "syn-$tag" --encoder enc \
    --out "audit-$tag" --seed 1 --threads 2 -q "$@"
}

# obedience TAG MODEL G S [model check flags]: `model check` as the CLI test (400 reference scans,
# seed 77; 24 generated per condition, seed 3) into obedience-TAG.json. Exit 1 (a measure
# failed) still writes the report; 2 (bad input) stops.
obedience() {
  local tag=$1 model=$2 g=$3 s=$4
  shift 4
  [ -f "obedience-$tag.json" ] && return
  [ -d obedience-ref ] || "$BIN" simulate --site generator_train --n 400 --seed 77 --size 64x256 -q \
    --out obedience-ref || return 1
  names_precision "$@" || set -- "$@" --precision fp32
  names_interval "$@" || set -- "$@" --guidance-interval 0,1
  names_spacing "$@" || set -- "$@" --spacing quadratic
  builtin_guidance_on "$model" "$@" || set -- "$@" --guidance-on all
  nice -n 19 "$BIN" model check "$model" --reference obedience-ref --n 24 --steps "$s" --guidance "$g" --seed 3 \
    --threads 2 -q "$@" --out "obedience-$tag.json.tmp"
  [ $? -le 1 ] || return 1
  mv "obedience-$tag.json.tmp" "obedience-$tag.json"
}

# confirm_2000 TAG "GENERATE FLAGS" [REAL SEED [MODEL]]: the acceptance audit's second stage for
# one cell of MODEL (default the shipped model): 2,000 scans (seed SEED, default 7103) against
# REAL (default real2000, simulate seed 7101), with the training scans (train-noisy) for
# memorisation and membership, into acceptance-TAG (acceptance-REAL-TAG for another real set).
confirm_2000() {
  local tag=$1 gf=$2 real=${3:-real2000} seed=${4:-7103} model=${5:-builtin} name=$1
  [ "$real" = real2000 ] || name="$real-$tag"
  [ -d "$real" ] || { echo "confirm_2000: $real is missing" >&2 && return 1; }
  builtin_guidance_on "$model" "$gf" || gf="$gf --guidance-on all"
  if [ ! -f "syn2000-$name.done" ]; then
    rm -rf "syn2000-$name"
    # shellcheck disable=SC2086
    "$BIN" generate --model "$model" --n 2000 --seed "$seed" $gf --out "syn2000-$name" --threads 2 -q || return 1
    touch "syn2000-$name.done"
  fi
  [ -f "acceptance-$name/audit.json" ] || "$BIN" audit --real "$real" --synthetic "syn2000-$name" --encoder enc \
    --out "acceptance-$name" --seed 1 --threads 2 --train train-noisy --model "$model" -q
}

# The tables of the shipped model's sampler settings (guidance_steps.sh, autoguidance.sh,
# guidance_weight.sh) run over the caller's associative array CELL (TAG -> "GUIDANCE STEPS
# FLAGS...").
# speed_rounds PREFIX TAG...: three interleaved speed rounds (speed-PREFIX-...) of the guidance-1
# quadratic fp32 baseline, CELL's C2-gi1.5-logsnr (the default) and each TAG.
speed_rounds() {
  local prefix=$1 round tag g s flags
  shift
  for round in 1 2 3; do
    speed "$prefix-base-g1-quadratic-fp32-r$round" builtin 1 10 --precision fp32 --spacing quadratic || return 1
    for tag in C2-gi1.5-logsnr "$@"; do
      read -r g s flags <<<"${CELL[$tag]}"
      # shellcheck disable=SC2086
      speed "$prefix-$tag-r$round" builtin "$g" "$s" $flags || return 1
    done
  done
}

# cell_obedience TAG...: obedience (version 2) at each TAG's settings.
cell_obedience() {
  local tag g s flags
  for tag in "$@"; do
    read -r g s flags <<<"${CELL[$tag]}"
    # shellcheck disable=SC2086
    obedience "$tag" builtin "$g" "$s" $flags || return 1
  done
}

# cell_table PREFIX TAG...: speed_rounds, then each TAG's 600-scan audit with the training scans,
# then cell_obedience.
cell_table() {
  local prefix=$1 tag g s flags
  shift
  speed_rounds "$prefix" "$@" || return 1
  for tag in "$@"; do
    read -r g s flags <<<"${CELL[$tag]}"
    ev "$tag" builtin "$g" "$s" "$flags" --train train-noisy --model builtin || return 1
  done
  cell_obedience "$@"
}

# confirm_cell TAG: confirm_2000 for the caller's CELL[TAG], then its table beside the default's.
confirm_cell() {
  local tag=$1 g s flags
  [ -n "${CELL[$tag]:-}" ] || { echo "unknown cell '$tag'" >&2 && return 2; }
  read -r g s flags <<<"${CELL[$tag]}"
  confirm_2000 "$tag" "--guidance $g --steps $s $flags" || return 1
  python3 "$ROOT/scripts/experiments/guidance_steps_table.py" . confirm "$tag"
}

# The latent models' sampler defaults of 2026-12-06 (bf16, guidance interval 0.05,0.7, logSNR-uniform
# steps), named so that later defaults do not change them.
LDM_DEFAULT=(--precision bf16 --guidance-interval "0.05,0.7" --spacing logsnr)

# shifted_preset NAME SHIFT: configs/gen/latent.json with schedule_shift SHIFT, as NAME.json.
shifted_preset() {
  python3 -c "import json, sys; c = json.load(open(sys.argv[1])); c['schedule_shift'] = float(sys.argv[2]); \
json.dump(c, open(sys.argv[3], 'w'), indent=2)" "$ROOT/configs/gen/latent.json" "$2" "$1.json"
}

# ldm_train NAME PRESET STEPS [train flags]: ldm1's recipe of docs/experiments/fidelity.md (batch
# 16, lr 5e-4, warm-up 100, EMA 0.998, seed 2026, bf16, 2 threads) on the latents of AE (default
# models/experiments/ae3) of train-noisy, into NAME, with the extra flags; it resumes when NAME
# has a run.
ldm_train() {
  local name=$1 preset=$2 steps=$3 r=()
  shift 3
  AE=${AE:-$ROOT/models/experiments/ae3}
  [ -f "$AE/autoencoder.json" ] || { echo "$AE is missing (scripts/experiments/ae_ceiling.sh)" >&2 && return 1; }
  [ -f "$name/run.json" ] && r=(--resume)
  nice -n 19 "$BIN" train --data train-noisy --autoencoder "$AE" --preset "$preset" --out "$name" \
    "${r[@]}" --steps "$steps" --batch 16 --lr 5e-4 --warmup 100 --ema 0.998 --seed 2026 --bf16 --threads 2 \
    --checkpoint-every 250 --val-every 500 --sample-every 2000 --log-every 50 "$@"
}

# ldm_default_cell NAME: the 600-scan audit of latent model NAME at LDM_DEFAULT with guidance 1.5
# and 10 steps (memorisation and membership against train-noisy), obedience (version 2) there,
# and NAME_table.md.
ldm_default_cell() {
  local name=$1
  ev "$name-gi1.5-s10-bf16" "$name" 1.5 10 "${LDM_DEFAULT[*]}" --train train-noisy --model "$name" || return 1
  obedience "$name-gi1.5-s10-bf16" "$name" 1.5 10 "${LDM_DEFAULT[@]}" || return 1
  python3 "$ROOT/scripts/experiments/ft1m_c_table.py" . "$name" p6 alone >"${name}_table.md" &&
    cat "${name}_table.md"
}
