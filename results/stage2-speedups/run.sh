#!/usr/bin/env bash
# Issue 17's accuracy checks: each Stage 2 speed-up, and overlap, against fedtsa at its defaults,
# paired per seed, on the validation split (default preset, 20 rounds, the committed generator).
# Usage: bash results/stage2-speedups/run.sh VARIANT [seeds...]   (about 8 minutes per run on 2 cores)
#   VARIANT: baseline | overlap | steps25 | widest-teaches (see the case below); then
#   node --import tsx results/stage2-speedups/summarize.ts
set -euo pipefail
cd "$(dirname "$0")/../.."
variant="$1"; shift
seeds=("${@:-1 2 3}")
case "$variant" in
  baseline) flags=() ;;
  overlap) flags=(--overlap on) ;;
  steps25) flags=(--ml-steps 25) ;;
  widest-teaches) flags=(--ml-widest-learns off) ;;
  *) echo "unknown variant '$variant'" >&2; exit 2 ;;
esac
for seed in ${seeds[@]}; do
  out="results/stage2-speedups/$variant-seed-$seed"
  [ -f "$out/comparison.json" ] && continue
  npm run --silent simulate -- --preset default --strategy fedtsa --eval validation --seed "$seed" "${flags[@]}" --out "$out"
done
