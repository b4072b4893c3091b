"""--device through the CLI: auto says which device it chose and why (stderr, the sweep_start
event, the results' device attribute, each trial's device column); cpu works everywhere; cuda
and cuda:N fail with exit 2 (65 from the sweep file) where no GPU can be used, and pick the GPU
where one can; bench reports the device and GPU usage fields (null with a reason on the CPU);
--streams and --pack are checked and change no result."""
import json
import os
import re

from btutil import Checker, SRC, need, run, sweep_file, workdir, write_sweep

need("h5py", "numpy")
import h5py  # noqa: E402
import numpy as np  # noqa: E402

c = Checker("test_cli_device")
NO_GPU = r"CUDA module not built|no NVIDIA driver|no GPU visible|driver refuses|older than this build"
d = workdir("cli_device")
sw = sweep_file("boston-grid.json")
sw["parameters"]["max_depth"] = {"values": [2, 4]}
sw["parameters"]["num_round"] = {"values": [5, 10]}
sweep = write_sweep(os.path.join(d, "grid.json"), sw, os.path.join(SRC, "sweeps", "examples"))

info = run("info", check=0).stdout
n_gpus = int(re.search(r"gpus: (\d+)", info).group(1))
has_cuda = "cuda    yes" in info
gpu_box = n_gpus > 0 and has_cuda
print(f"gpus {n_gpus}, cuda build {has_cuda}")


def sweep_run(out, *extra):
    log = out + ".log"
    if os.path.exists(log):
        os.remove(log)
    p = run(sweep, "--out", out, "--fresh", "--log", log, *extra, check=0, timeout=300)
    with open(log) as f:
        ev = [json.loads(x) for x in f]
    start = [e for e in ev if e["event"] == "sweep_start"][0]
    with h5py.File(out, "r") as h:
        attr = h.attrs["device"]
        attr = attr.decode() if isinstance(attr, bytes) else str(attr)
        trials = h["trials"][()]
        devs = {x.decode() if isinstance(x, bytes) else str(x) for x in trials["device"]}
        metric = np.array(trials["metric"])
        hist = np.array(h["history"]["value"])
    return p, start, attr, devs, metric, hist


# --- cpu, and auto --------------------------------------------------------------------------
p, start, attr, devs, m_cpu, h_cpu = sweep_run(os.path.join(d, "cpu.h5"), "--device", "cpu")
c.check("training on the cpu" in p.stderr and "asked for the cpu" in p.stderr, p.stderr)
c.check(start["device"] == "cpu" and start["device_reason"] == "asked for the cpu", start)
c.check(attr == "cpu" and devs == {"cpu"}, f"{attr} {devs}")
c.check(start["streams"] == 4, start)

p, start, attr, devs, m_auto, h_auto = sweep_run(os.path.join(d, "auto.h5"))
c.check(start["device_reason"].startswith("auto: "), start)
if gpu_box:
    c.check(re.fullmatch(r"cuda:\d+", start["device"]) is not None, start)
    c.check(start["device_name"] != "" and start["device_memory_bytes"] > 0, start)
    c.check(attr.startswith(start["device"] + " (") and "GiB" in attr, attr)
    c.check(devs == {start["device"]}, devs)
    c.check(f"training on {start['device']} (" in p.stderr, p.stderr)
else:
    c.check(start["device"] == "cpu" and attr == "cpu", f"{start} {attr}")
    # why there is no GPU: no module in this build, no driver, no GPU, or a driver that refuses
    why = re.search(NO_GPU, start["device_reason"])
    c.check(why is not None and why.group(0) in p.stderr, f"{start} {p.stderr}")
    c.check(np.array_equal(m_cpu, m_auto) and np.array_equal(h_cpu, h_auto), "auto == cpu")

# --streams changes nothing on the CPU (its packs thread internally)
p, start, attr, devs, m_s, h_s = sweep_run(os.path.join(d, "streams.h5"), "--device", "cpu",
                                           "--streams", 3)
c.check(start["streams"] == 3, start)
c.check(np.array_equal(m_cpu, m_s) and np.array_equal(h_cpu, h_s), "--streams 3 == default")

# --pack cuts a shape into packs of at most N slots (18 runs here: 4 + 4 + 4 + 4 + 2); nothing
# changes
out = os.path.join(d, "pack.h5")
p, start, attr, devs, m_p, h_p = sweep_run(out, "--device", "cpu", "--pack", 4)
with open(out + ".log") as f:
    inits = [json.loads(x) for x in f if '"pack_init"' in x]
c.check([e["slots"] for e in inits] == [4, 4, 4, 4, 2], inits)
c.check(np.array_equal(m_cpu, m_p) and np.array_equal(h_cpu, h_p), "--pack 4 == default")

# --- errors ----------------------------------------------------------------------------------
for args, code, text in (
        (["--device", "gpu"], 2, "expected auto, cpu, cuda, cuda:all or cuda:N[,M...]"),
        (["--device", "cuda:0,0"], 2, "listed twice" if gpu_box else "cuda"),
        (["--device", f"cuda:{n_gpus + 3}"], 2, "visible" if gpu_box else "cuda"),
        (["--streams", "0"], 2, "--streams"),
        (["--streams", "65"], 2, "--streams"),
        (["--pack", "0"], 2, "--pack")):
    p = run(sweep, "--out", os.path.join(d, "err.h5"), "--fresh", *args)
    c.check(p.returncode == code and text in p.stderr, f"{args} -> {p.returncode}: {p.stderr}")
if not gpu_box:
    p = run(sweep, "--out", os.path.join(d, "err.h5"), "--fresh", "--device", "cuda")
    c.check(p.returncode == 2 and re.search(NO_GPU, p.stderr) is not None, p.stderr)
    bad = dict(sw)
    bad["execution"] = {"device": "cuda:0"}
    bs = write_sweep(os.path.join(d, "bad.json"), bad, os.path.join(SRC, "sweeps", "examples"))
    p = run(bs, "--out", os.path.join(d, "err.h5"), "--fresh")
    c.check(p.returncode == 65 and "execution.device cuda:0" in p.stderr, p.stderr)
    p = run(bs, "--out", os.path.join(d, "err.h5"), "--fresh", "--device", "cpu")
    c.check(p.returncode == 0, f"--device cpu overrides the sweep's device: {p.stderr}")

# --- bench ------------------------------------------------------------------------------------
p = run("bench", sweep, "--device", "cpu", "--json", check=0, timeout=300)
r = json.loads(p.stdout)
dev = r["device"]
c.check(dev["trained_on"] == "cpu" and dev["reason"] == "asked for the cpu", dev)
c.check(dev["nvml"] is False and dev["gpu_usage_source"] is None, dev)
c.check(dev["gpu_usage_unavailable"].startswith("trained on the cpu"), dev)
c.check(r["packed"]["sm_utilization"] is None and r["packed"]["peak_device_memory_bytes"] is None
        and r["packed"]["gpu_samples"] == 0, r["packed"])
if gpu_box:
    p = run("bench", sweep, "--json", "--compare", "sequential", check=0, timeout=300)
    r = json.loads(p.stdout)
    dev = r["device"]
    c.check(dev["trained_on"].startswith("cuda:") and dev["gpu_memory_bytes"] > 0, dev)
    c.check(dev["gpu_usage_source"] in ("nvml", "cudart"), dev)
    c.check(r["packed"]["peak_device_memory_bytes"] > 0 and r["packed"]["gpu_samples"] >= 1,
            r["packed"])
    if dev["nvml"]:
        u = r["packed"]["sm_utilization"]
        c.check(u is not None and 0 <= u <= 1, r["packed"])
    c.check(r["metrics_identical"] is True, "packed and sequential agree on the GPU")
else:
    p = run("bench", sweep, "--device", "cuda")
    c.check(p.returncode == 2, f"bench --device cuda without a GPU -> {p.returncode}")
c.finish()
