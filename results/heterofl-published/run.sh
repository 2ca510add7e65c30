#!/usr/bin/env bash
# Issue 18 point 1: heterofl as published (scaler + masked loss) against the plain heterofl of
# results/fmnist-stage2, seed 3 (the collapse) and seed 1 (a check). From the repository root.
set -euo pipefail
out=results/heterofl-published
# Diagnostics: per round, live units of every hidden layer and the logits' spread of the served models.
for variant in plain published; do
  node --import tsx $out/diagnose.ts --variant $variant --preset stage2 --strategy heterofl --seed 3 > $out/diagnose-$variant-seed-3.txt 2> $out/diagnose-$variant-seed-3-rounds.txt
done
# Both variants with the simulator's own report.
for seed in 3 1; do
  for variant in plain published; do npm run simulate -- --preset stage2 --strategy heterofl --heterofl $variant --seed $seed --out $out/$variant-seed-$seed; done
done
# The variants on seed 3 (README's second table).
for args in "mask" "plain --safeguards off" "published --safeguards off" "plain --lr 0.01" "published --lr 0.01"; do
  name=$(echo "$args" | sed 's/ --safeguards off/-off/; s/ --lr 0.01/-lr0.01/')
  node --import tsx $out/diagnose.ts --variant $args --preset stage2 --strategy heterofl --seed 3 > $out/diagnose-$name-seed-3.txt 2> $out/diagnose-$name-seed-3-rounds.txt
done
