#!/usr/bin/env bash
# Quick start: installs what is missing, builds, and runs the example sweep given (default: the
# 252-trial XGBoost grid on Boston housing), then prints the best trials.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh
sweep=${1:-sweeps/examples/boston-grid.json}
mkdir -p out
out="out/$(basename "${sweep%.json}").h5"
./build/batchtune run "$sweep" --out "$out" --fresh
./build/batchtune report "$out" --top 10
