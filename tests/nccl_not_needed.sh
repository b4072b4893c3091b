#!/bin/sh
# The CUDA build loads NCCL at run time (kernels/cuda/nccl_load.c): none of FILE... (the binary,
# libbatchtune.so, the CUDA module) has libnccl among its NEEDED entries, so they start and load on
# a machine without it, and MODULE carries the dlopen name. Exit 77 (SKIP) without readelf.
# usage: nccl_not_needed.sh MODULE FILE...
command -v readelf >/dev/null 2>&1 || { echo "SKIP: no readelf"; exit 77; }
module=$1
fail=0
for f in "$@"; do
    needed=$(readelf -d "$f" | grep '(NEEDED)') || { echo "FAIL: readelf -d $f"; fail=1; continue; }
    if echo "$needed" | grep -q 'libnccl'; then
        echo "FAIL: $f needs libnccl:"; echo "$needed" | grep libnccl; fail=1
    else
        echo "ok: $f: $(echo "$needed" | wc -l) NEEDED entries, no libnccl"
    fi
done
if grep -q -a 'libnccl\.so\.2' "$module"; then
    echo "ok: $module opens libnccl.so.2 at run time"
else
    echo "FAIL: $module has no libnccl.so.2 to dlopen (built without NCCL?)"; fail=1
fi
exit $fail
