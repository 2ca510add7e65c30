#!/usr/bin/env bash
# Issue 18 point 1: heterofl as published (scaler + masked loss) against the plain heterofl of
# results/fmnist-stage2, seed 3 (the collapse) and seed 1 (a check). From the repository root.
set -euo pipefail
out=results/heterofl-published
# Diagnostics: per round, live units of every hidden layer and the logits' spread of the served models.
for variant in plain published; do
  node --import tsx $out/diagnose.ts --variant $variant --preset stage2 --strategy heterofl --seed 3 > $out/diagnose-$variant-seed-3.txt 2> $out/diagnose-$variant-seed-3-rounds.txt
done
# The published heterofl (now the default) with the simulator's own report.
for seed in 3 1; do
  npm run simulate -- --preset stage2 --strategy heterofl --seed $seed --out $out/seed-$seed
done
