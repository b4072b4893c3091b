#!/usr/bin/env bash
# Builds batchtune and runs the whole test suite (CUDA tests SKIP without a GPU).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh
ctest --test-dir "${BT_BUILD_DIR:-build}" --output-on-failure -j"$(nproc)" "$@"
