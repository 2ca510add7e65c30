#!/usr/bin/env bash
# The Stage 2 teacher rule's cost: fedtsa with the rule minus fedtsa without it, paired per seed,
# on the validation split (default preset, 20 rounds, the committed generator).
# Usage: bash results/stage2-teacher-rule/run.sh [seeds...]   (default 1 2 3; about 8 minutes per run)
# Then: node --import tsx results/stage2-teacher-rule/summarize.ts
set -euo pipefail
cd "$(dirname "$0")/../.."
seeds=("${@:-1 2 3}")
for seed in ${seeds[@]}; do
  for rule in off on; do
    out="results/stage2-teacher-rule/seed-$seed-$rule"
    [ -f "$out/comparison.json" ] && continue
    npm run --silent simulate -- --preset default --strategy fedtsa --eval validation --seed "$seed" --teacher-rule "$rule" --out "$out"
  done
done
