#!/usr/bin/env bash
# The lab's Table 2 (Galetto & Deng 2022, Table 2 in spirit): MobileNetV2 (width 0.5) against a
# plain 4-layer CNN, each trained from scratch for the same number of optimiser steps (batch 128,
# seed 0, the same patches in the same order), one torch thread each, side by side. The reports go
# to data/galetto2022/table2/ (read by notebook 05); the weights stay in /tmp (not shipped).
#
#   DEFOCUS_LAB_DATA=../shared/data bash benchmarks/table2_galetto.sh [STEPS]
set -euo pipefail
steps="${1:-1500}"
out=data/galetto2022/table2
mkdir -p "$out"
run() {
  .venv/bin/defocus-lab train galetto --arch "$1" --width "$2" --out "/tmp/table2-$1.npz" --fresh \
      --minutes 600 --max-steps "$steps" --seed 0 --threads 1 --quiet --report "$out/$1.json"
}
run mobilenetv2 0.5 & a=$!
run plain4 1.0 & b=$!
wait $a $b
