#!/usr/bin/env bash
# The GPU benchmark kit in one command, for a lent GPU machine with no network: builds nothing.
#   bench/gpu/run_all.sh BIN_DIR [OUT_DIR] [gpu_bench.py options...]
# BIN_DIR is an unpacked scripts/bundle.sh tarball (bin/batchtune, bin/bt_hist_bandwidth,
# bin/gpu_test_*) or a build folder (batchtune, bt_hist_bandwidth, tests/gpu_test_*).
# OUT_DIR defaults to $OUT, else bench/results. Writes OUT_DIR/DATE-gpu-DEVICE.json and prints a
# short table last. Needs python3 with numpy (and h5py for the per-trial checks); XGBoost is
# optional (BT_XGB_WHEELS=DIR installs carried wheels offline), torch too (the resnet step,
# bench/bench_nn_gpu.py). See bench/README.md.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [ $# -lt 1 ] || [ "$1" = "-h" ] || [ "$1" = "--help" ]; then
  sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi
bin=$1
shift
out=${OUT:-$here/../results}
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
  out=$1
  shift
fi
py=${PYTHON:-python3}
for lib in "$bin/lib" "$bin/../lib"; do # a bundle's libraries, if its rpath was lost on the way
  [ -d "$lib" ] && export LD_LIBRARY_PATH="$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
done
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
if ! "$py" -c 'import numpy' 2>/dev/null; then
  # no numpy: the batchtune numbers alone, with its own data generator, as raw JSON
  echo "run_all: $py has no numpy; batchtune-only run (no XGBoost, no per-trial checks)" >&2
  bt=$bin/bin/batchtune; [ -x "$bt" ] || bt=$bin/batchtune
  hb=$bin/bin/bt_hist_bandwidth; [ -x "$hb" ] || hb=$bin/bt_hist_bandwidth
  mkdir -p "$out"
  "$bt" info > "$out/gpu-info.txt" || true
  "$bt" bench "$here/boston-grid.json" --compare sequential --out-json "$out/gpu-boston-bench.json" || true
  "$bt" bench "$here/synthetic-1m.json" --out-json "$out/gpu-synthetic-packed.json" || true
  "$bt" bench "$here/synthetic-1m.json" --trials 8 --compare sequential \
    --out-json "$out/gpu-synthetic-seq8.json" || true
  [ -x "$hb" ] && "$hb" > "$out/gpu-hist-bandwidth.json" || true
  exit 0
fi
exec "$py" "$here/gpu_bench.py" --bin "$bin" --out "$out" "$@"
