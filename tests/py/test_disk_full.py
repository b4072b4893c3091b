"""A disk that fills up while batchtune writes (issue 15, item 1), without root: RLIMIT_FSIZE with
SIGXFSZ ignored makes writes past the limit fail with EFBIG, through the same paths as ENOSPC.
The journal's append, a rebuild of the results from a finished journal, and (in
tests/runtime/test_results.c and test_snapshot.c) the results and snapshot writers: each exits 74
with a message, the results as they were, no temporary file, no crash in HDF5's exit handler.
A real full disk (a small tmpfs, needs root) is tests/py/test_disk_full_tmpfs.py."""
import os
import resource
import signal
import subprocess

from btutil import BIN, Checker, asha_sweep, full_disk_case, need, workdir

need("h5py")

c = Checker("test_disk_full")
d = workdir("disk_full")
sweep = asha_sweep(d, run_cap=60)
out = os.path.join(d, "r.h5")


def limit(nbytes):
    def pre():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (nbytes, resource.RLIM_INFINITY))
    return pre


# 1. the journal cannot grow past its size: the resume's first appends fail
full_disk_case(c, sweep, out, lambda: limit(os.path.getsize(out + ".journal") + 64), "journal")

# 2. a finished journal whose results file went missing rebuilds it: that write fails
p = subprocess.run([BIN, "run", sweep, "--out", out, "--fresh", "--quiet"], capture_output=True)
c.check(p.returncode == 0, f"full run: {p.returncode}")
os.remove(out)
with open(out + ".journal", "rb") as f:
    journal = f.read()
p = subprocess.run([BIN, "run", sweep, "--out", out, "--quiet"], capture_output=True, text=True,
                   preexec_fn=limit(4096))
c.check(p.returncode == 74, f"rebuild: exit {p.returncode}: {p.stderr[-300:]}")
c.check("File too large" in p.stderr, f"rebuild: the message says why: {p.stderr[-300:]}")
c.check(not os.path.exists(out), "rebuild: no half-written results file")
c.check(not [n for n in os.listdir(d) if ".tmp" in n], "rebuild: no temporary file")
with open(out + ".journal", "rb") as f:
    c.check(f.read() == journal, "rebuild: the journal is untouched")
# with room again the same command rebuilds the results
p = subprocess.run([BIN, "run", sweep, "--out", out, "--quiet"], capture_output=True)
c.check(p.returncode == 0 and os.path.exists(out), f"rebuild with room: {p.returncode}")
c.finish()
