"""Shared helpers for the Python end-to-end tests: where the binary and sources are, running
batchtune, and the ctest exit-code convention (77 = skip)."""
import json
import os
import subprocess
import sys
import tempfile

SRC = os.environ.get("BT_SOURCE_DIR", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
BIN = os.environ.get("BATCHTUNE", os.path.join(SRC, "build", "batchtune"))
TMP = os.environ.get("BT_TEST_TMP", tempfile.gettempdir())


def need(*modules):
    """Exit 77 (ctest SKIP) when a module is missing."""
    for m in modules:
        try:
            __import__(m)
        except ImportError:
            print(f"SKIP: python module {m} missing")
            sys.exit(77)


def workdir(name):
    d = os.path.join(TMP, name)
    os.makedirs(d, exist_ok=True)
    return d


def run(*args, check=None, timeout=300, **kw):
    """Runs batchtune; check=N asserts the exit code."""
    p = subprocess.run([BIN, *map(str, args)], capture_output=True, text=True, timeout=timeout, **kw)
    if check is not None and p.returncode != check:
        raise AssertionError(f"batchtune {' '.join(map(str, args))} -> {p.returncode}, expected {check}\n"
                             f"stdout:\n{p.stdout}\nstderr:\n{p.stderr}")
    return p


def write_sweep(path, sweep, data_dir=None):
    """Writes a sweep; relative dataset paths are made absolute against data_dir."""
    sweep = json.loads(json.dumps(sweep))
    ds = sweep.get("dataset", {})
    for k in ("path", "train", "valid"):
        if data_dir and k in ds and not os.path.isabs(ds[k]):
            ds[k] = os.path.join(data_dir, ds[k])
    with open(path, "w") as f:
        json.dump(sweep, f, indent=2)
    return path


def sweep_file(name):
    with open(os.path.join(SRC, "sweeps", "examples", name)) as f:
        return json.load(f)


class Checker:
    def __init__(self, name):
        self.name, self.n, self.failed = name, 0, 0

    def check(self, cond, msg=""):
        self.n += 1
        if not cond:
            self.failed += 1
            print(f"CHECK failed: {msg}", file=sys.stderr)

    def finish(self):
        print(f"{self.name}: {self.n} checks, {self.failed} failed")
        sys.exit(1 if self.failed else 0)


def need_mpi():
    """mpirun's command prefix for a test of MPI ranks (one host, more ranks than cores, as root);
    exits 77 (SKIP) without mpirun or without MPI in the build."""
    import shutil
    mpirun = shutil.which("mpirun")
    if not mpirun:
        print("SKIP: no mpirun (Debian: openmpi-bin)")
        raise SystemExit(77)
    if "mpi     yes" not in run("info", check=0).stdout:
        print("SKIP: this build has no MPI (BT_MPI)")
        raise SystemExit(77)
    return [mpirun, "--oversubscribe", "--allow-run-as-root", "--mca", "btl", "self,vader"]


def rank_pids(mpid):
    """The ranks mpirun started: {rank: pid} (Open MPI's children, by their environment)."""
    out = {}
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            stat = open(f"/proc/{p}/stat").read()
            if int(stat.rsplit(")", 1)[1].split()[1]) != mpid:
                continue
            for kv in open(f"/proc/{p}/environ", "rb").read().split(b"\0"):
                if kv.startswith(b"OMPI_COMM_WORLD_RANK="):
                    out[int(kv.split(b"=")[1])] = int(p)
        except (OSError, ValueError):
            pass
    return out


def wait_journal(p, journal, lines, also=None, timeout=120):
    """Polls until `journal` has `lines` lines (and the file `also`, if given, exists) while the
    process p runs: True when reached, False if p ended or the timeout passed. Progress points,
    not wall-clock times, so a loaded machine still stops a sweep mid-way."""
    import time
    deadline = time.time() + timeout
    while p.poll() is None and time.time() < deadline:
        try:
            n = sum(1 for _ in open(journal))
        except FileNotFoundError:
            n = 0
        if n >= lines and (also is None or os.path.exists(also)):
            return True
        time.sleep(0.002)
    return False


def kill_at_progress(sweep, out, ref_journal, attempts, seed, lo=0.1, hi=0.9):
    """Runs `batchtune run sweep --out out` `attempts` times, SIGKILLing each attempt once its
    journal has grown past a random fraction in [lo, hi) of the reference journal's length
    (progress points, not wall-clock times, so a loaded machine still kills mid-sweep). The first
    attempt starts fresh; stale files from an earlier test run are removed first. Returns the
    number of kills."""
    import random
    rng = random.Random(seed)
    ref_lines = sum(1 for _ in open(ref_journal))
    journal = out + ".journal"
    for stale in (out, journal):  # an earlier run's journal would be killed on sight and replayed
        if os.path.exists(stale):
            os.remove(stale)
    args = [BIN, "run", sweep, "--out", out, "--quiet", "--checkpoint-every", "0.05"]
    kills = 0
    for attempt in range(attempts):
        target = rng.uniform(lo, hi) * ref_lines
        p = subprocess.Popen(args + (["--fresh"] if attempt == 0 else []),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if wait_journal(p, journal, target):
            p.kill()
            kills += 1
        p.wait()
    return kills


def results_tables(path):
    """The parts of a results file that must not depend on timing: /trials without `seconds`,
    /history without `time` (sorted), and /rungs -- what resume and packing tests compare."""
    import h5py
    import numpy as np
    with h5py.File(path) as f:
        t = f["trials"][:]
        h = f["history"][:]
        r = f["rungs"][:]
    keep = [n for n in t.dtype.names if n != "seconds"]
    hist = np.sort(h[["trial_id", "resource", "metric", "value"]], order=["trial_id", "resource", "metric"])
    return t[keep], hist, r


def same_results(c, a, b, what):
    """Checks (Checker c) that results files a and b hold the same results_tables, /trials'
    device column aside (under MPI it names the rank that trained each trial)."""
    import numpy as np
    for name, x, y in zip(("trials", "history", "rungs"), results_tables(a), results_tables(b)):
        if name == "trials":
            keep = [n for n in x.dtype.names if n != "device"]
            x, y = x[keep], y[keep]
        c.check(x.dtype == y.dtype and np.array_equal(x, y), f"{what}: /{name} differs")


def asha_sweep(d, run_cap=60, name="asha.json"):
    """breast-cancer-asha.json capped at run_cap trials, written into d (a quick ASHA sweep whose
    journal is long enough to stop mid-way): its path."""
    s = sweep_file("breast-cancer-asha.json")
    s["run_cap"] = run_cap
    return write_sweep(os.path.join(d, name), s, os.path.join(SRC, "sweeps", "examples"))


def signal_at_progress(args, journal, lines, sig, timeout=120):
    """Runs batchtune with args and sends sig once `journal` has `lines` lines: the exit code
    (0 with a note when the sweep finished before the signal arrived)."""
    p = subprocess.Popen([BIN, *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wait_journal(p, journal, lines)
    p.send_signal(sig)
    p.communicate(timeout=timeout)
    if p.returncode == 0:
        print(f"note: the sweep finished before signal {sig} arrived")
    return p.returncode


def full_disk_case(c, sweep, out, fill, label):
    """Issue 15 item 1, one case: a sweep stopped mid-way (SIGINT) leaves results and a journal;
    `fill()` then leaves no room to write (a full disk or a file-size limit; it returns the
    preexec_fn for the resume, or None); the resume must exit 74 with a message, leave the results
    byte for byte as they were and no temporary file. Returns the resume's CompletedProcess, or
    None when the sweep finished before the signal (nothing to check)."""
    import signal
    for stale in (out, out + ".journal", out + ".state"):
        if os.path.exists(stale):
            os.remove(stale)
    rc = signal_at_progress(["run", sweep, "--out", out, "--fresh", "--quiet"], out + ".journal", 400,
                            signal.SIGINT)
    if rc != 75:
        c.check(rc == 0, f"{label}: interrupted run exit {rc}")
        return None
    with open(out, "rb") as f:
        before = f.read()
    pre = fill()
    p = subprocess.run([BIN, "run", sweep, "--out", out, "--quiet"], capture_output=True, text=True,
                       timeout=300, preexec_fn=pre)
    c.check(p.returncode == 74, f"{label}: exit {p.returncode} (74 expected): {p.stderr[-400:]}")
    c.check("batchtune" in p.stderr and len(p.stderr.strip()) > 0, f"{label}: a message: {p.stderr}")
    with open(out, "rb") as f:
        c.check(f.read() == before, f"{label}: the results file is as it was")
    folder = os.path.dirname(out) or "."
    left = [n for n in os.listdir(folder) if ".tmp" in n]
    c.check(not left, f"{label}: no temporary files left: {left}")
    return p
