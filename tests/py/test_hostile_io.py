"""Hostile files and signals around what batchtune writes (issue 15, items 2, 3, 7, 8, 10):
symlinks and hard links at the journal or the log are never written through; a finished journal
checks its results file and rebuilds it (or refuses with 74); --fresh never replaces a file that
is not a results file; a --log pipe that closes costs the events, not the sweep; SIGHUP stops like
SIGTERM (75, resumable)."""
import os
import shutil
import signal
import subprocess

from btutil import BIN, Checker, SRC, asha_sweep, need, results_tables, run, signal_at_progress, workdir

need("h5py", "numpy")
import numpy as np

c = Checker("test_hostile_io")
d = workdir("hostile_io")
sweep = asha_sweep(d)


def clean(*paths):
    for p in paths:
        if os.path.islink(p) or os.path.isfile(p):
            os.remove(p)
        elif os.path.isdir(p):
            shutil.rmtree(p)


def same_tables(a, b):
    return all(np.array_equal(x, y) for x, y in zip(results_tables(a), results_tables(b)))


ref = os.path.join(d, "ref.h5")
clean(ref, ref + ".journal")
run("run", sweep, "--out", ref, "--fresh", "--quiet", check=0)
victim = os.path.join(d, "victim.txt")
VICTIM = "precious data\n"

# item 2: a symlink or a hard link at OUT.journal or at the --log file is never written through
out = os.path.join(d, "link.h5")
for kind in ("symlink", "hardlink"):
    for fresh in ([], ["--fresh"]):
        clean(out, out + ".journal", victim)
        with open(victim, "w") as f:
            f.write(VICTIM)
        (os.symlink if kind == "symlink" else os.link)(victim, out + ".journal")
        p = run("run", sweep, "--out", out, "--quiet", *fresh)
        c.check(p.returncode == 74, f"{kind} journal {fresh}: exit {p.returncode} {p.stderr}")
        c.check("link" in p.stderr, f"{kind} journal: message names the link: {p.stderr}")
        c.check(open(victim).read() == VICTIM, f"{kind} journal {fresh}: victim untouched")
        c.check(not os.path.exists(out), f"{kind} journal: no results written")
clean(out, out + ".journal", victim)
with open(victim, "w") as f:
    f.write(VICTIM)
log = os.path.join(d, "events.log")
clean(log)
os.symlink(victim, log)
p = run("run", sweep, "--out", out, "--fresh", "--quiet", "--log", log)
c.check(p.returncode == 74, f"symlink --log: exit {p.returncode} {p.stderr}")
c.check(open(victim).read() == VICTIM, "symlink --log: victim untouched")
clean(log, out, out + ".journal")

# item 3: a finished journal checks its results file: garbage and truncated files are rebuilt
# from the journal (identical to the original), a folder is refused with 74
fin = os.path.join(d, "fin.h5")
clean(fin, fin + ".journal")
run("run", sweep, "--out", fin, "--fresh", "--quiet", check=0)
good = open(fin, "rb").read()
for name, bad in (("garbage", b"not an hdf5 file at all\n" * 10), ("truncated", good[: len(good) // 2]),
                  ("empty", b"")):
    with open(fin, "wb") as f:
        f.write(bad)
    p = run("run", sweep, "--out", fin, "--quiet")
    c.check(p.returncode == 0, f"{name} results: exit {p.returncode} {p.stderr}")
    c.check(open(fin, "rb").read()[:8] == b"\x89HDF\r\n\x1a\n", f"{name} results: rewritten as HDF5")
    c.check(same_tables(fin, ref), f"{name} results: rebuilt identical from the journal")
os.remove(fin)
os.mkdir(fin)
p = run("run", sweep, "--out", fin, "--quiet")
c.check(p.returncode == 74, f"folder at results: exit {p.returncode} {p.stderr}")
c.check(os.path.isdir(fin), "folder at results: left alone")
os.rmdir(fin)

# item 7: --fresh replaces a results file, never someone's data
csv = os.path.join(d, "boston.csv")
shutil.copy(os.path.join(SRC, "sweeps", "examples", "data", "boston.csv"), csv)
before = open(csv, "rb").read()
clean(csv + ".journal")
p = run("run", sweep, "--out", csv, "--fresh", "--quiet")
c.check(p.returncode == 74, f"--fresh over a CSV: exit {p.returncode} {p.stderr}")
c.check("not a batchtune results file" in p.stderr, f"--fresh over a CSV: message {p.stderr}")
c.check(open(csv, "rb").read() == before, "--fresh over a CSV: the CSV is untouched")
c.check(not os.path.exists(csv + ".journal"), "--fresh over a CSV: no journal left beside it")
run("run", sweep, "--out", fin, "--fresh", "--quiet", check=0)  # an existing results file: replaced
c.check(same_tables(fin, ref), "--fresh over a results file: replaced")

# item 8: --log - into a pipe that closes: one warning, the sweep finishes (0, results written)
pipe_out = os.path.join(d, "pipe.h5")
clean(pipe_out, pipe_out + ".journal")
p = subprocess.Popen([BIN, "run", sweep, "--out", pipe_out, "--fresh", "--quiet", "--log", "-"],
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
first = [p.stdout.readline() for _ in range(2)]
p.stdout.close()
err = p.stderr.read().decode()
rc = p.wait(timeout=300)
c.check(all(line.startswith(b"{") for line in first), f"--log - events: {first}")
c.check(rc == 0, f"--log - | head -2: exit {rc} {err}")
c.check(err.count("stopped writing --log events") == 1, f"--log - | head -2: one warning: {err}")
c.check(os.path.exists(pipe_out) and same_tables(pipe_out, ref), "--log - | head -2: results written")

# item 10: SIGHUP stops like SIGTERM: 75, then the re-run completes to the same results
hup = os.path.join(d, "hup.h5")
clean(hup, hup + ".journal")
ref_lines = sum(1 for _ in open(ref + ".journal"))
rc = signal_at_progress(["run", sweep, "--out", hup, "--fresh", "--quiet"], hup + ".journal", ref_lines // 3,
                        signal.SIGHUP)
c.check(rc in (0, 75), f"SIGHUP exit {rc}")
run("run", sweep, "--out", hup, "--quiet", check=0)
c.check(same_tables(hup, ref), "SIGHUP + resume identical")

# a link to a pipe or a terminal holds nothing to overwrite: --log /dev/stderr works
ds = os.path.join(d, "devstderr.h5")
p = subprocess.run([BIN, "run", sweep, "--out", ds, "--fresh", "--quiet", "--log", "/dev/stderr"],
                   capture_output=True, text=True, timeout=300)
c.check(p.returncode == 0 and '"event":"sweep_start"' in p.stderr, f"--log /dev/stderr: {p.returncode} {p.stderr[:300]}")
c.finish()
