#!/usr/bin/env bash
# Builds a relocatable batchtune for an offline GPU machine: dist/batchtune-<version>/ holds
# bin/ (batchtune, the test programs), lib/ (libbatchtune.so, the CUDA module libbatchtune_cuda.so
# and every shared library they need except glibc's and CUDA's own -- the GPU machine has CUDA,
# cuBLAS and the driver, not HDF5, cJSON or libyaml -- found through an $ORIGIN rpath), the example sweeps, the Python tests
# and run-tests.sh; plus a .tar.gz of it (under 40 MiB).
# Usage: scripts/bundle.sh [CUDA_ARCH (default 90)] ; BT_BUNDLE_DIR overrides the output folder.
set -euo pipefail
cd "$(dirname "$0")/.."
arch=${1:-90}
if ! command -v nvcc >/dev/null 2>&1 && [ -x /usr/local/cuda/bin/nvcc ]; then
  export CUDACXX=/usr/local/cuda/bin/nvcc
fi
build=build-bundle
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DBT_CUDA=AUTO \
  -DCMAKE_CUDA_ARCHITECTURES="$arch" -DCMAKE_SKIP_BUILD_RPATH=OFF \
  -DCMAKE_BUILD_RPATH='$ORIGIN/../lib' -DBT_RPATH_TRANSITIVE=ON >/dev/null
cmake --build "$build" -j"$(nproc)"
version=$(sed -n 's/^project(batchtune VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
dist=${BT_BUNDLE_DIR:-dist/batchtune-$version}
rm -rf "$dist"
mkdir -p "$dist/bin" "$dist/lib" "$dist/tests"
cp "$build/batchtune" "$dist/bin/"
cp "$build"/libbatchtune.so "$dist/lib/"
[ -e "$build/libbatchtune_cuda.so" ] && cp "$build/libbatchtune_cuda.so" "$dist/lib/"
find "$build/tests" -maxdepth 2 -type f -perm -u+x \( -name 'test_*' -o -name 'gpu_test_*' -o -name 'bt_*' \) \
  -exec cp {} "$dist/bin/" \;
# the GPU benchmark kit: its microbenchmark, driver and the resnet comparison (bench/gpu/run_all.sh "$dist")
[ -x "$build/bt_hist_bandwidth" ] && cp "$build/bt_hist_bandwidth" "$dist/bin/"
mkdir -p "$dist/bench"
cp -r bench/gpu bench/bench_gbdt_cpu.py bench/bench_nn_gpu.py "$dist/bench/"
# shared libraries, glibc's own and CUDA's aside (the target has those)
skip='^(linux-vdso|ld-linux|libc\.so|libm\.so|libdl\.so|libpthread\.so|librt\.so|libcuda\.so|libcudart\.so|libcublas|libcublasLt|libcurand|libnvidia|libnvrtc|libnccl|libbatchtune)'
for exe in "$dist"/bin/* "$dist"/lib/libbatchtune*.so; do
  ldd "$exe" | awk '/=> \// {print $1, $3}' | while read -r name path; do
    [[ "$name" =~ $skip ]] && continue
    [ -e "$dist/lib/$name" ] || cp -L "$path" "$dist/lib/$name"
  done
done
# libyaml reads YAML sweep files; the GPU machine lacks it, so a build that has it must carry it
if ldd "$dist/lib/libbatchtune.so" | grep -q libyaml && ! ls "$dist"/lib/libyaml* >/dev/null 2>&1; then
  echo "bundle: libyaml was not carried" >&2
  exit 1
fi
mkdir -p "$dist/sweeps"
cp -r sweeps/examples "$dist/sweeps/"
cp -r tests/py tests/data "$dist/tests/"
cat > "$dist/run-tests.sh" <<'RUN'
#!/usr/bin/env bash
# Runs every bundled test program (exit 77 = skipped) and the Python end-to-end tests.
here=$(cd "$(dirname "$0")" && pwd)
export BT_SOURCE_DIR=$here BATCHTUNE=$here/bin/batchtune BT_TOOLS_DIR=$here/bin
export BT_TEST_TMP=${BT_TEST_TMP:-/tmp/batchtune-tests} OMP_WAIT_POLICY=passive
mkdir -p "$BT_TEST_TMP"
pass=0 fail=0 skip=0
for t in "$here"/bin/test_* "$here"/bin/gpu_test_* "$here"/tests/py/test_*.py; do
  [ -e "$t" ] || continue
  case "$t" in *.py) cmd=(python3 "$t") ;; *) cmd=("$t") ;; esac
  out=$("${cmd[@]}" 2>&1); rc=$?
  if [ $rc -eq 0 ]; then pass=$((pass+1)); elif [ $rc -eq 77 ]; then skip=$((skip+1)); echo "SKIP $(basename "$t")";
  else fail=$((fail+1)); echo "FAIL $(basename "$t") ($rc)"; echo "$out" | tail -20; fi
done
echo "$pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
RUN
chmod +x "$dist/run-tests.sh"
tar -C "$(dirname "$dist")" -czf "$dist.tar.gz" "$(basename "$dist")"
echo "bundle: $dist ($(du -sh "$dist" | cut -f1)), $dist.tar.gz"
