#!/usr/bin/env bash
# Stage 2 tuning on the validation split (seed 1, default preset, 95% generator).
# Usage: bash results/stage2-tuning/sweep.sh NAME [simulate flags...]; writes results/stage2-tuning/NAME/.
set -euo pipefail
name=$1; shift
cd "$(dirname "$0")/../.."
npm run --silent simulate -- --preset default --strategy fedtsa --eval validation --out "results/stage2-tuning/$name" "$@"
