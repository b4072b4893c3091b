#!/usr/bin/env bash
# Builds the libFuzzer harnesses of tests/fuzz with clang (BT_FUZZ=ON, AddressSanitizer) in
# build-fuzz and runs each for SECONDS (default 60), seeded from tests/fuzz/seeds, tests/data,
# tests/hostile and the example sweeps and data. A harness that finds a crash, a leak or an
# allocation over -malloc_limit_mb stops with its input under build-fuzz/artifacts/ and this
# script exits 1. Without clang it says SKIP and exits 0. Warnings are not errors here: clang
# warns about a few things gcc (the project's compiler) accepts.
#   usage: scripts/fuzz.sh [SECONDS] [HARNESS ...]     (HARNESS: spec_json, csv, ...; default all)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
shift || true
if ! command -v clang >/dev/null; then
  echo "SKIP: no clang; the fuzz harnesses need libFuzzer"
  exit 0
fi
dir=${BT_FUZZ_DIR:-build-fuzz}
all=(spec_json spec_yaml csv libsvm npy hdf5 idx cifar)
names=("${@:-${all[@]}}")
CC=clang CXX=clang++ cmake -S . -B "$dir" -DBT_FUZZ=ON -DBT_CUDA=OFF -DBT_WERROR=OFF -DBUILD_TESTING=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$dir" -j"${BT_JOBS:-$(nproc)}" --target "${names[@]/#/fuzz_}"

seeds() { # the files a harness starts from
  case $1 in
  spec_json) ls tests/data/sweeps/*.json sweeps/examples/*.json tests/hostile/sweeps/*.json ;;
  spec_yaml) ls tests/data/sweeps/*.yaml sweeps/examples/*.yaml tests/hostile/sweeps/*.yaml |
    grep -v alias-bomb ;; # 2 s an input: it would take most of the time
  csv) ls sweeps/examples/data/*.csv* tests/hostile/data/*.csv ;;
  libsvm) ls tests/fuzz/seeds/*.svm tests/hostile/data/*.svm ;;
  npy) ls tests/fuzz/seeds/*.npy tests/hostile/data/*.npy ;;
  hdf5) ls tests/fuzz/seeds/*.h5 tests/hostile/data/*.h5 | grep -v libhdf5-crash ;; # crashes libhdf5
  idx) ls tests/fuzz/seeds/*idx* tests/hostile/data/*idx* ;;
  cifar) ls tests/fuzz/seeds/*.bin tests/hostile/data/*.bin ;;
  esac 2>/dev/null
}

# True when the failure is libhdf5's own: the first frame of its stack that is libhdf5's or
# batchtune's is libhdf5's, or the report has no stack (libFuzzer's memory limit; batchtune's own
# allocations in the HDF5 reader are bounded by the file's size before they are made). An overrun
# or a use after free counts by who allocated the memory, not who touched it: libhdf5 writing past
# a buffer batchtune sized wrong is batchtune's bug.
first_frame() {
  grep -E "^ *#[0-9]" | grep -m1 -E "libhdf5|/(base|datasets|kernels|models|sweeps|runtime|tests)/[^ ]*\.c:[0-9]" || true
}
library_failure() {
  local report first
  report=$(grep -m1 -A200 -E "ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)" "$1" || true)
  [ -n "$report" ] || return 1 # no report at all: the harness did not even run
  if grep -qE "AddressSanitizer: [a-z-]*(overflow|after-free|after-poison|double-free)" <<<"$report"; then
    first=$(sed -n '/allocated by thread/,$p' <<<"$report" | first_frame)
    [ -n "$first" ] && grep -q libhdf5 <<<"$first"
    return
  fi
  first=$(first_frame <<<"$report")
  [ -z "$first" ] || grep -q libhdf5 <<<"$first"
}

failed=0
mkdir -p "$dir/artifacts"
export LSAN_OPTIONS="suppressions=$PWD/tests/fuzz/lsan.supp:print_suppressions=0"
for n in "${names[@]}"; do
  corpus="$dir/corpus/$n"
  mkdir -p "$corpus"
  for f in $(seeds "$n"); do
    # seeds over 1 MB only slow the fuzzer down (large inputs are the corpus runner's job)
    [ "$(stat -c %s "$f")" -le 1048576 ] && cp -f "$f" "$corpus/"
  done
  echo "== fuzz_$n: $secs s"
  # HDF5 (not instrumented) mallocs what a corrupt header says (GBs, or more than exists, where
  # it copes with NULL) for its metadata cache: its own, as in a normal build; batchtune's own
  # allocations are checked (against 256 MiB here) before they are made
  asan="" malloc_mb=1024
  [ "$n" = hdf5 ] && asan="allocator_may_return_null=1" malloc_mb=65536
  if ! TMPDIR="$dir" ASAN_OPTIONS="$asan" "$dir/tests/fuzz/fuzz_$n" -max_total_time="$secs" -rss_limit_mb=2048 \
    -malloc_limit_mb=$malloc_mb -timeout=30 -max_len=65536 -print_final_stats=1 \
    -artifact_prefix="$dir/artifacts/$n-" "$corpus" 2>"$dir/fuzz_$n.log"; then
    # A failure whose stack reaches libhdf5 before any of batchtune's frames is the library's own
    # (Debian's libhdf5 1.10 dereferences NULL on some corrupt files, in H5Lexists or H5Dread):
    # reported, its input kept, but not batchtune's failure. batchtune reads HDF5 in a forked
    # child (datasets/hdf5_child.c), so in a run such a file is a message and exit 65; the
    # harness calls the reader in-process so that the fuzzer sees its coverage.
    if [ "$n" = hdf5 ] && library_failure "$dir/fuzz_$n.log"; then
      echo "fuzz_$n: a failure inside libhdf5 itself (not batchtune's code); input kept in $dir/artifacts:"
      grep -m1 -A12 "ERROR: " "$dir/fuzz_$n.log" || true
      continue
    fi
    failed=1
    echo "fuzz_$n FAILED:"
    grep -A30 "ERROR\|SUMMARY" "$dir/fuzz_$n.log" | head -60 || true
  else
    grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "$dir/fuzz_$n.log" | tr '\n' ' ' || true
    echo
  fi
done
exit $failed
