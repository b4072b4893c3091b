"""The CUDA module as a user meets it (runtime/devices/cuda_module.h): the binary starts small and
never opens CUDA for a CPU run; `info` says where the module loaded from or why not; a module that
is not one is refused with its reason; on the emulated module (BT_CUDA_EMU_MODULE, loaded by path
as the real one is found beside libbatchtune.so) `info` lists the GPU, `selftest` passes and a
faulty GPU (BT_EMU_CORRUPT=1) fails it with 70, `--device auto` checks a GPU once before trusting
it and falls back to the CPU when the check fails, and a sweep trained on the emulated GPU equals
the CPU run; with no GPU at all `selftest` exits 69."""
import os
import re
import subprocess

from btutil import BIN, Checker, SRC, need, results_tables, run, sweep_file, workdir, write_sweep

need("h5py", "numpy")
import numpy as np  # noqa: E402

c = Checker("test_cuda_module")
d = workdir("cuda_module")
emu = os.environ.get("BT_CUDA_EMU_MODULE", "")
lib_dir = os.path.dirname(os.path.realpath(BIN))
real_module = os.path.exists(os.path.join(lib_dir, "libbatchtune_cuda.so"))


def env_with(**kw):
    e = dict(os.environ)
    e.pop("BT_CUDA_MODULE", None)
    e["XDG_CACHE_HOME"] = os.path.join(d, "cache")
    for k, v in kw.items():
        if v is None:
            e.pop(k, None)
        else:
            e[k] = v
    return e


def bt(*args, env=None, timeout=300):
    return subprocess.run([BIN, *map(str, args)], capture_output=True, text=True, env=env,
                          timeout=timeout)


# ---- small start: --version and a CPU run never map the CUDA libraries -------------------------
# measured by a small C parent (a fork of this Python process would count its own pages)
maxrss = os.path.join(os.environ.get("BT_TOOLS_DIR", ""), "bt_maxrss")
p = subprocess.run([maxrss, BIN, "--version"], capture_output=True, text=True, env=env_with())
m = re.search(r"maxrss_kib (\d+)", p.stderr)
rss_kb = int(m.group(1)) if m else -1
c.check(p.returncode == 0 and "batchtune" in p.stdout, f"--version: {p.stdout} {p.stderr}")
if os.environ.get("BT_SANITIZED"):
    c.check(rss_kb > 0, f"--version RSS {rss_kb} KiB")
else:
    c.check(0 < rss_kb < 20 * 1024, f"--version RSS {rss_kb} KiB (limit 20 MiB)")
print(f"--version: {rss_kb / 1024:.1f} MiB RSS")
ldd = subprocess.run(["ldd", BIN], capture_output=True, text=True).stdout
c.check(not re.search(r"libcudart|libcublas|libcurand|libcuda\.", ldd), f"binary links CUDA: {ldd}")

sw = sweep_file("boston-grid.json")
sw["parameters"]["max_depth"] = {"values": [2, 4]}
sw["parameters"]["num_round"] = {"values": [4, 8]}
sweep = write_sweep(os.path.join(d, "grid.json"), sw, os.path.join(SRC, "sweeps", "examples"))
maps = os.path.join(d, "maps.txt")
# a CPU run with an emulated module offered: --device cpu never opens it
p = bt(sweep, "--out", os.path.join(d, "cpu.h5"), "--fresh", "--quiet", "--device", "cpu",
       env=env_with(BT_CUDA_MODULE=emu or None))
c.check(p.returncode == 0, f"cpu run: {p.stderr}")

# ---- info and the reasons ----------------------------------------------------------------------
p = bt("info", env=env_with())
m = re.search(r"cuda module: (.*)", p.stdout)
c.check(p.returncode == 0 and m is not None, f"info: {p.stdout}")
if m and not real_module:
    c.check(m.group(1).startswith("not built"), f"info without a module: {m.group(1)}")
p = bt("info", env=env_with(BT_CUDA_MODULE=os.path.join(lib_dir, "libbatchtune.so")))
c.check("has no bt_cuda_module_entry" in p.stdout, f"a library that is no module: {p.stdout}")
p = bt("info", env=env_with(BT_CUDA_MODULE=os.path.join(d, "missing.so")))
c.check("no such file" in p.stdout, f"a missing module: {p.stdout}")
p = bt("info", env=env_with(BT_CUDA_MODULE="none"))
c.check("BT_CUDA_MODULE=none" in p.stdout and "gpus: 0" in p.stdout, f"none: {p.stdout}")

# no GPU at all: selftest says why, 69; --device cuda is a usage error naming the reason
if not real_module:
    p = bt("selftest", env=env_with())
    c.check(p.returncode == 69 and "no usable GPU" in p.stderr, f"selftest, no GPU: {p.returncode} {p.stderr}")
    p = bt(sweep, "--out", os.path.join(d, "x.h5"), "--fresh", "--device", "cuda", env=env_with())
    c.check(p.returncode == 2 and "not built" in p.stderr, f"--device cuda, no module: {p.stderr}")
p = bt("selftest", "--device", "gpu0", env=env_with())
c.check(p.returncode == 2, "selftest --device gpu0 is a usage error")

if not emu:
    print("no emulated module in this build (BT_CUDA_EMU_MODULE): the GPU paths are skipped")
    c.finish()

# ---- on the emulated module -----------------------------------------------------------------
E = env_with(BT_CUDA_MODULE=emu)
p = bt("info", env=E)
c.check("cuda module: loaded" in p.stdout and "gpus: 1" in p.stdout and "emulated GPU" in p.stdout,
       f"info on the emulation: {p.stdout}")
p = bt("selftest", "--packs", "--seed", "7", env=E)
c.check(p.returncode == 0 and "of 2 cases agree" in p.stdout, f"selftest: {p.returncode} {p.stdout} {p.stderr}")
p = bt("selftest", "--packs", "--only", "gbdt", env=env_with(BT_CUDA_MODULE=emu, BT_EMU_CORRUPT="1"))
c.check(p.returncode == 70 and "FAIL" in p.stdout and "differ from the CPU" in p.stderr,
       f"selftest on a faulty GPU: {p.returncode} {p.stdout} {p.stderr}")
p = bt("selftest", "--only", "no_such_op", env=E)
c.check(p.returncode == 2, "selftest --only with no match is a usage error")

# the machine the probe meets: no device is "no GPU" (skip, 69, auto on the cpu); a driver that
# refuses is named as such, and a GPU test fails on it instead of skipping
nodev = env_with(BT_CUDA_MODULE=emu, BT_EMU_DEVICE_COUNT_ERROR="100", BT_EMU_DRIVER_VERSION="13000")
p = bt("info", env=nodev)
c.check("gpus: 0 (no GPU visible" in p.stdout, f"info, no device: {p.stdout}")
p = bt("selftest", env=nodev)
c.check(p.returncode == 69 and "no GPU visible" in p.stderr, f"selftest, no device: {p.stderr}")
p = bt(sweep, "--out", os.path.join(d, "x.h5"), "--fresh", "--device", "cuda", env=nodev)
c.check(p.returncode == 2 and "no GPU visible" in p.stderr, f"--device cuda, no device: {p.stderr}")
old = env_with(BT_CUDA_MODULE=emu, BT_EMU_DEVICE_COUNT_ERROR="35", BT_EMU_DRIVER_VERSION="12020")
p = bt("info", env=old)
c.check("supports CUDA 12.2, older than this build's CUDA 13.0" in p.stdout, f"info, old driver: {p.stdout}")
p = bt("selftest", env=old)
c.check(p.returncode == 69 and "older than this build" in p.stderr, f"selftest, old driver: {p.stderr}")
p = bt(sweep, "--out", os.path.join(d, "x.h5"), "--fresh", env=old)
c.check(p.returncode == 0 and "training on the cpu" in p.stderr and "older than this build" in p.stderr,
       f"auto, old driver: {p.stderr}")
ops = os.environ.get("BT_TEST_OPS_EMU")
if ops:
    q = subprocess.run([ops], capture_output=True, text=True, env=old, timeout=120)
    c.check(q.returncode == 1 and "refuses" in q.stderr, f"a GPU test on a refusing driver: {q.returncode} {q.stderr}")
    q = subprocess.run([ops], capture_output=True, text=True, env=nodev, timeout=120)
    c.check(q.returncode == 77 and "SKIP" in q.stdout, f"a GPU test with no device: {q.returncode} {q.stdout}")
    q = subprocess.run([ops], capture_output=True, text=True,
                       env=env_with(BT_CUDA_MODULE=emu, BT_EMU_DEVICE_COUNT_ERROR="3",
                                    BT_EMU_DRIVER_VERSION="13000"), timeout=120)
    c.check(q.returncode == 1, f"a GPU test on a driver that is not initialized: {q.returncode}")

# --device auto: a faulty GPU fails its check and the sweep trains on the CPU, saying why
bad = env_with(BT_CUDA_MODULE=emu, BT_EMU_CORRUPT="1", XDG_CACHE_HOME=os.path.join(d, "cache-bad"))
p = bt(sweep, "--out", os.path.join(d, "bad.h5"), "--fresh", env=bad)
c.check(p.returncode == 0 and "training on the cpu" in p.stderr and "failed its self-test" in p.stderr,
       f"auto on a faulty GPU: {p.stderr}")
c.check(not os.path.exists(os.path.join(d, "cache-bad", "batchtune", "verified-gpus")),
       "a failed check is not remembered")

# a good GPU: checked once (remembered), then trusted; results equal the CPU's
good_cache = os.path.join(d, "cache-good")
G = env_with(BT_CUDA_MODULE=emu, XDG_CACHE_HOME=good_cache)
if os.path.exists(os.path.join(good_cache, "batchtune", "verified-gpus")):
    os.remove(os.path.join(good_cache, "batchtune", "verified-gpus"))
p = bt(sweep, "--out", os.path.join(d, "gpu.h5"), "--fresh", env=G)
c.check(p.returncode == 0 and "training on cuda:0" in p.stderr and "self-test passed" in p.stderr,
       f"auto, first use: {p.stderr}")
with open(os.path.join(good_cache, "batchtune", "verified-gpus")) as f:
    lines = f.read().splitlines()
c.check(len(lines) == 1 and "gbdt" in lines[0] and "emulated GPU" in lines[0], f"cache: {lines}")
p = bt(sweep, "--out", os.path.join(d, "gpu.h5"), "--fresh", env=G)
c.check(p.returncode == 0 and "training on cuda:0" in p.stderr and "self-test" not in p.stderr,
       f"auto, trusted: {p.stderr}")
a, b = results_tables(os.path.join(d, "cpu.h5")), results_tables(os.path.join(d, "gpu.h5"))
keep = [n for n in a[0].dtype.names if n != "device"]
c.check(np.array_equal(a[0][keep], b[0][keep]), "trials: GPU run equals the CPU run")
c.check(np.array_equal(a[1], b[1]) and np.array_equal(a[2], b[2]), "history and rungs equal")
c.finish()
