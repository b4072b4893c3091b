"""Every GPU of a box from one process (docs/cuda.md, "Every GPU of a box"), on the device
emulation with 1, 2 and 3 emulated GPUs (BT_EMU_DEVICES): a gbdt ASHA sweep (on the reference
module, BT_CUDA_EMU_MODULE: the gbdt kernels as their C references, so GPU and CPU agree bit for
bit) and an mlp grid (every kernel emulated, BT_CUDA_EMU_FULL_MODULE) give /trials, /history and
/rungs identical to each other apart from the device column and timing; the gbdt sweep equals the
CPU exactly, the mlp grid within the emulation's FP32 drift (the nn packs' test tolerance).
/trials.device names each trial's GPU, every GPU trains some, packs go round the GPUs, `info`
lists every GPU, the shared data reaches the other GPUs by the NCCL stand-in's broadcast, and
the emulation saw no violation (a kernel on another GPU's stream, memory of another GPU)."""
import json
import os
import shutil
import re
import subprocess
import time

from btutil import BIN, Checker, SRC, need, results_tables, sweep_file, workdir, write_sweep

need("h5py", "numpy")
import h5py  # noqa: E402
import numpy as np  # noqa: E402

c = Checker("test_multigpu_emu")
d = workdir("multigpu_emu")
ref = os.environ.get("BT_CUDA_EMU_MODULE", "")
full = os.environ.get("BT_CUDA_EMU_FULL_MODULE", "")
if not ref or not full:
    print("SKIP: no emulated module in this build")
    raise SystemExit(77)
ex = os.path.join(SRC, "sweeps", "examples")


def bt(*args, env):
    t0 = time.time()
    p = subprocess.run([BIN, *map(str, args)], capture_output=True, text=True, env=env,
                       timeout=600)
    print(f"{time.time() - t0:6.1f} s  {' '.join(map(str, args[:1] + args[-6:]))}")
    return p


def env_for(module, n):
    e = dict(os.environ)
    e.update(BT_CUDA_MODULE=module, BT_EMU_DEVICES=str(n), BT_GPU_VERIFY="0", BT_EMU_REPORT="1",
             XDG_CACHE_HOME=os.path.join(d, "cache"))
    return e


def devices(path):
    with h5py.File(path) as f:
        t = f["trials"][:]
        return [x.decode() for x in t["device"]], f.attrs.get("device", "")


def strip_device(tables):
    t, h, r = tables
    keep = [n for n in t.dtype.names if n != "device"]
    return t[keep], h, r


# ---- info lists every GPU ---------------------------------------------------------------------
p = bt("info", env=env_for(ref, 3))
c.check(p.returncode == 0 and "gpus: 3" in p.stdout and p.stdout.count("emulated GPU") >= 3,
        f"info with 3 emulated GPUs: {p.stdout}")
# NCCL as the module found it (the emulation's stand-in, linked in, with its version)
c.check("nccl    yes (NCCL 2.19.3, the emulation's stand-in" in p.stdout, f"info's nccl: {p.stdout}")

# ---- device syntax ----------------------------------------------------------------------------
gb = sweep_file("breast-cancer-asha.json")
gb["run_cap"] = 24
gb["scheduler"].update(min_resource=3, max_resource=27)
gb["execution"] = {"max_pack": 64}
gbdt = write_sweep(os.path.join(d, "asha.json"), gb, ex)
p = bt(gbdt, "--out", os.path.join(d, "x.h5"), "--fresh", "--device", "cuda:0,0",
       env=env_for(ref, 2))
c.check(p.returncode == 2 and "listed twice" in p.stderr, f"cuda:0,0: {p.stderr}")
p = bt(gbdt, "--out", os.path.join(d, "x.h5"), "--fresh", "--device", "cuda:0,2",
       env=env_for(ref, 2))
c.check(p.returncode == 2 and "no GPU 2" in p.stderr, f"cuda:0,2 of 2: {p.stderr}")


def sweep_runs(name, sweep, module, extra, requests):
    """The CPU run and one run per (GPU count, --device): their results files."""
    cpu = os.path.join(d, f"{name}-cpu.h5")
    p = bt(sweep, "--out", cpu, "--fresh", "--quiet", "--device", "cpu", *extra,
           env=env_for(module, 1))
    c.check(p.returncode == 0, f"{name} on the cpu: {p.stderr}")
    outs = []
    for n, req in requests:
        out = os.path.join(d, f"{name}-{n}.h5")
        p = bt(sweep, "--out", out, "--fresh", "--pack", "4", "--device", req, *extra,
               env=env_for(module, n))
        c.check(p.returncode == 0 and "emu report: 0 violations" in p.stderr,
                f"{name} on {n} GPUs ({req}): rc {p.returncode}: {p.stderr[-2000:]}")
        label = "cuda:" + ",".join(str(i) for i in range(n))
        c.check(f"training on {label}" in p.stderr, f"{name}, {n} GPUs: {p.stderr[:400]}")
        outs.append((n, out, p.stderr))
    return cpu, outs


def check_devices(name, outs):
    for n, out, _ in outs:
        devs, attr = devices(out)
        used = sorted(set(devs))
        c.check(used == [f"cuda:{i}" for i in range(n)],
                f"{name}, {n} GPUs: trials trained on {used}")
        attr = attr.decode() if isinstance(attr, bytes) else attr
        c.check(attr.startswith("cuda:" + ",".join(str(i) for i in range(n))),
                f"{name}, {n} GPUs: root device attribute {attr}")


# ---- gbdt: ASHA, exact ------------------------------------------------------------------------
cpu, outs = sweep_runs("gbdt", gbdt, ref, [], [(1, "cuda"), (2, "cuda:all"), (3, "auto")])
base = strip_device(results_tables(cpu))
for n, out, _ in outs:
    got = strip_device(results_tables(out))
    c.check(np.array_equal(base[0], got[0]), f"gbdt, {n} GPUs: /trials equal the CPU's")
    c.check(np.array_equal(base[1], got[1]) and np.array_equal(base[2], got[2]),
            f"gbdt, {n} GPUs: /history and /rungs equal the CPU's")
check_devices("gbdt", outs)
for n, _, err in outs:  # the other GPUs' data copies came from the first by NCCL (its stand-in)
    m = re.search(r"nccl broadcast (\d+) bytes", err)
    got = int(m.group(1)) if m else -1
    c.check(got == 0 if n == 1 else got > 0, f"gbdt, {n} GPUs: NCCL broadcast {got} bytes")

# without NCCL at run time (BT_NCCL_LIBRARY=none: as on a machine without libnccl.so.2) each
# GPU's copy is uploaded from the host, and nothing else changes
e = env_for(ref, 2)
e["BT_NCCL_LIBRARY"] = "none"
p = bt("info", env=e)
c.check("nccl    no (NCCL not loaded: BT_NCCL_LIBRARY=none: each GPU's data is uploaded" in p.stdout,
        f"info without NCCL: {p.stdout}")
out = os.path.join(d, "gbdt-2-nonccl.h5")
p = bt(gbdt, "--out", out, "--fresh", "--pack", "4", "--device", "cuda:all", env=e)
m = re.search(r"nccl broadcast (\d+) bytes", p.stderr)
c.check(p.returncode == 0 and "emu report: 0 violations" in p.stderr and m and m.group(1) == "0",
        f"gbdt on 2 GPUs without NCCL: rc {p.returncode}: {p.stderr[-2000:]}")
got = strip_device(results_tables(out))
c.check(all(np.array_equal(a, b) for a, b in zip(base, got)),
        "gbdt on 2 GPUs without NCCL: /trials, /history, /rungs equal the CPU's")

# ---- mlp: a grid, every kernel emulated --------------------------------------------------------
mg = sweep_file("mlp-digits.json")
mg["parameters"] = {"width": {"values": [16, 24]}, "lr": {"values": [0.01, 0.003]},
                    "optimizer": {"values": ["adam", "sgd"]}}
mg["model"]["epochs"] = 2
mg["model"]["batch_size"] = 64
mlp = write_sweep(os.path.join(d, "mlp.json"), mg, ex)
cpu, outs = sweep_runs("mlp", mlp, full, ["--gpu-packs", "all"], [(1, "cuda"), (2, "cuda:0,1"),
                                                                  (3, "cuda:all")])
first = strip_device(results_tables(outs[0][1]))
for n, out, _ in outs[1:]:
    got = strip_device(results_tables(out))
    same = all(np.array_equal(a, b) for a, b in zip(first, got))
    c.check(same, f"mlp, {n} GPUs: /trials, /history, /rungs identical to 1 GPU's")
base = strip_device(results_tables(cpu))
t0, h0 = base[0], base[1]
t1, h1 = first[0], first[1]
c.check(np.array_equal(t0["trial_id"], t1["trial_id"]) and
        np.array_equal(t0["status"], t1["status"]), "mlp: same trials and statuses as the CPU")
c.check(np.allclose(h0["value"], h1["value"], rtol=3e-2, atol=1e-3),
        f"mlp: GPU history within the FP32 drift of the CPU's "
        f"(max diff {np.max(np.abs(h0['value'] - h1['value'])):.2e})")
check_devices("mlp", outs)

# ---- program mode: per_gpu slots go round every GPU of cuda:all ---------------------------------
pd = os.path.join(d, "program")
os.makedirs(pd, exist_ok=True)
shutil.copy(os.path.join(SRC, "tests", "data", "program", "standin.py"), pd)
prog = os.path.join(pd, "sweep.json")
with open(prog, "w") as f:
    json.dump({"program": "standin.py", "method": "grid", "metric": {"name": "val_loss"},
               "parameters": {"lr": {"values": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]}},
               "execution": {"per_gpu": 2}}, f)
e = env_for(full, 3)
e.pop("BATCHTUNE_GPUS", None)
out = os.path.join(pd, "sweep.h5")
p = bt(prog, "--out", out, "--fresh", "--quiet", "--device", "cuda:all", env=e)
c.check(p.returncode == 0, f"program on cuda:all: {p.stderr}")
if p.returncode == 0:
    devs, _ = devices(out)
    c.check(sorted(set(devs)) == ["cuda:0", "cuda:1", "cuda:2"], f"program: slots on {devs}")
c.finish()
