#!/usr/bin/env bash
# Quick start: installs what is missing, builds, and runs the example sweep given, YAML or JSON
# (default: the 252-trial XGBoost grid on Boston housing), then prints the best trials.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh
sweep=${1:-sweeps/examples/boston-grid.yaml}
mkdir -p out
name=$(basename "$sweep")
out="out/${name%.*}.h5"
./build/batchtune run "$sweep" --out "$out" --fresh
./build/batchtune report "$out" --top 10
