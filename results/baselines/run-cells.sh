#!/usr/bin/env bash
# The sweep's cells run before `npm run sweep` existed: the same command per cell as the sweep
# runs (see README). Run from a checkout (a worktree frozen at one commit); OUT is the results folder.
# usage: run-cells.sh OUT "STRATEGY ..." "ALPHA:SEEDS ..."   e.g. "0.5:1,2,3 iid:1,2,3"
set -u
out=$1; strategies=$2; plan=$3
commit=$(git rev-parse --short HEAD)
for entry in $plan; do
  alpha=${entry%%:*}; seeds=${entry#*:}
  for seed in ${seeds//,/ }; do
    for s in $strategies; do
      if [ "$s" = centralised ]; then a=any; else a=$alpha; fi
      cell=$out/cells/alpha-$a/seed-$seed/$s
      [ -f $cell/comparison.json ] && continue
      tmp=$cell.partial; rm -rf $tmp; mkdir -p $tmp
      started=$(date +%s)
      alphaArg=$alpha; [ "$s" = centralised ] && alphaArg=0.5
      args="--strategy $s"; [ "$s" = feddf-public ] && args="--strategy feddf --feddf-data public"
      if npm run simulate -- --preset default --alpha $alphaArg --seed $seed $args --out $tmp > $tmp/log.txt 2>&1; then
        printf '{"commit":"%s","command":"npm run simulate -- --preset default --alpha %s --seed %s %s --out CELL","seconds":%s,"finishedAt":"%s"}\n' \
          $commit $alphaArg $seed "$args" $(( $(date +%s) - started )) "$(date -u +%FT%TZ)" > $tmp/cell.json
        rm -f $tmp/log.txt; rm -rf $cell; mv $tmp $cell; echo "done $cell $(( $(date +%s) - started ))s"
      else
        echo "FAILED $cell (see $tmp/log.txt)"
      fi
    done
  done
done
