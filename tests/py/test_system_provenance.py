"""Machine metrics and provenance in the results (issue 16): /system rows with sane values after a
short CPU sweep and none with --system-every 0; git_commit/git_dirty with and without a git
repository around the sweep file (and without git at all); --note/--tag round trip, kept by a
resume that does not give them again, replaced by one that does; the data digests."""
import os
import shutil
import signal
import subprocess

from btutil import BIN, SRC, Checker, asha_sweep, need, run, signal_at_progress, workdir

need("h5py", "numpy")
import h5py
import numpy as np

c = Checker("test_system_provenance")
d = workdir("system_provenance")
for name in os.listdir(d):
    p = os.path.join(d, name)
    shutil.rmtree(p) if os.path.isdir(p) else os.remove(p)
sweep = asha_sweep(d, run_cap=30)


def attrs(path):
    with h5py.File(path) as f:
        return dict(f.attrs)


# /system after a short CPU sweep, sampled often so even a quick run has several rows
out = os.path.join(d, "sys.h5")
run("run", sweep, "--out", out, "--fresh", "--quiet", "--system-every", "0.05",
    "--note", "lr warmup helps?", "--tag", "baseline", "--tag", "cpu", check=0)
with h5py.File(out) as f:
    c.check("system" in f, "a /system table")
    s = f["system"][:] if "system" in f else None
    hist_t = f["history"]["time"][:]
if s is not None:
    names = s.dtype.names
    c.check(names[:3] == ("time", "cpu_percent", "rss_bytes"), f"columns {names}")
    c.check(not any(n.startswith("gpu") for n in names), f"no GPU columns on a CPU run: {names}")
    c.check(len(s) >= 2, f"{len(s)} rows")
    t = s["time"]
    c.check(np.all(t >= 0) and np.all(np.diff(t) > 0), f"time increasing from 0: {t[:5]}")
    # the same clock as /history's time: the sweep's last sample is not long before its last report
    c.check(t[-1] >= hist_t.max() - 1.0 and t[0] < hist_t.max() + 1.0, f"{t[-1]} vs {hist_t.max()}")
    cpu = s["cpu_percent"]
    c.check(np.all(np.isfinite(cpu)) and np.all(cpu >= 0) and cpu.max() > 0, f"cpu_percent {cpu}")
    c.check(cpu.max() < 100.0 * (os.cpu_count() or 1) + 50, f"cpu_percent bounded: {cpu.max()}")
    rss = s["rss_bytes"]
    c.check(np.all(rss > 1e6) and np.all(rss < 64e9), f"rss_bytes {rss}")
a = attrs(out)
c.check(a.get("note") == "lr warmup helps?", f"note {a.get('note')}")
c.check(a.get("tags") == "baseline,cpu", f"tags {a.get('tags')}")
for k in ("train_sha256", "valid_sha256"):
    v = a.get(k, "")
    c.check(len(v) == 64 and all(ch in "0123456789abcdef" for ch in v), f"{k} {v!r}")
c.check(a.get("train_sha256") != a.get("valid_sha256"), "train and valid digests differ")
c.check(isinstance(a.get("cpu_model"), str), f"cpu_model {a.get('cpu_model')!r}")
for k in ("gpu_names", "driver_version", "cuda_version"):
    c.check(k not in a, f"no {k} on a CPU run")

# the same data gives the same digests; --system-every 0: no /system
out0 = os.path.join(d, "nosys.h5")
run("run", sweep, "--out", out0, "--fresh", "--quiet", "--system-every", "0", check=0)
with h5py.File(out0) as f:
    c.check("system" not in f, "--system-every 0: no /system")
a0 = attrs(out0)
c.check(a0.get("train_sha256") == a.get("train_sha256"), "train digest is the data's")
c.check("note" not in a0 and "tags" not in a0, "no note or tags when none given")

# run --help documents the flags
h = run("run", "--help", check=0).stdout
c.check(all(f in h for f in ("--system-every", "--note", "--tag")), "run --help documents the flags")

# bad values are usage errors
for bad in (["--system-every", "-1"], ["--tag", "a,b"], ["--tag", ""]):
    p = run("run", sweep, "--out", out0, *bad)
    c.check(p.returncode == 2, f"{bad}: exit {p.returncode}")

# git: no repository around the sweep file -> no attributes; a repository -> its HEAD and state
git = shutil.which("git")
plain = os.path.join(d, "plain")
os.makedirs(plain)
plain_sweep = shutil.copy(sweep, os.path.join(plain, "s.json"))
p_out = os.path.join(d, "plain.h5")
run("run", plain_sweep, "--out", p_out, "--fresh", "--quiet", check=0)
pa = attrs(p_out)
inside_repo = git and subprocess.run([git, "-C", plain, "rev-parse", "HEAD"],
                                     capture_output=True).returncode == 0
if not inside_repo:
    c.check("git_commit" not in pa and "git_dirty" not in pa, f"no repository: {pa.get('git_commit')}")
# no git on PATH at all: absent too, and the sweep runs
env = dict(os.environ, PATH="/nonexistent")
subprocess.run([BIN, "run", plain_sweep, "--out", p_out, "--fresh", "--quiet"], env=env, check=True,
               capture_output=True)
c.check("git_commit" not in attrs(p_out), "git absent: no git_commit")
if git:
    repo = os.path.join(d, "repo")
    os.makedirs(repo)
    r_sweep = shutil.copy(sweep, os.path.join(repo, "s.json"))
    g = [git, "-C", repo, "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false"]
    subprocess.run(g + ["init", "-q"], check=True)
    subprocess.run(g + ["add", "s.json"], check=True)
    subprocess.run(g + ["commit", "-q", "-m", "sweep"], check=True)
    head = subprocess.run(g + ["rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    r_out = os.path.join(d, "repo.h5")  # outside the repository: it stays clean
    run("run", r_sweep, "--out", r_out, "--fresh", "--quiet", check=0)
    ra = attrs(r_out)
    c.check(ra.get("git_commit") == head, f"git_commit {ra.get('git_commit')} vs {head}")
    c.check("git_dirty" in ra and int(ra["git_dirty"]) == 0, f"clean: {ra.get('git_dirty')}")
    with open(os.path.join(repo, "notes.txt"), "w") as f:
        f.write("uncommitted\n")
    run("run", r_sweep, "--out", r_out, "--fresh", "--quiet", check=0)
    ra = attrs(r_out)
    c.check(ra.get("git_commit") == head and int(ra.get("git_dirty", -1)) == 1,
            f"dirty: {ra.get('git_dirty')}")
else:
    print("note: no git on PATH: repository cases skipped")

# a resume keeps the first session's note and tags (and /system rows) unless given again
res = os.path.join(d, "resume.h5")
big = asha_sweep(d, run_cap=120, name="big.json")
rc = signal_at_progress(["run", big, "--out", res, "--fresh", "--quiet", "--note", "first",
                         "--tag", "t1", "--system-every", "0.05"], res + ".journal", 1500,
                        signal.SIGINT)
if rc == 75:
    with h5py.File(res) as f:
        n1 = len(f["system"]) if "system" in f else 0
    run("run", big, "--out", res, "--quiet", "--system-every", "0.05", check=0)
    ra = attrs(res)
    c.check(ra.get("note") == "first" and ra.get("tags") == "t1", f"kept: {ra.get('note')} {ra.get('tags')}")
    with h5py.File(res) as f:
        t = f["system"]["time"][:]
    c.check(len(t) > n1 and np.all(np.diff(t) > 0), f"/system carried over: {n1} -> {len(t)}")
else:
    c.check(rc == 0, f"interrupted run: exit {rc}")
rc = signal_at_progress(["run", big, "--out", res, "--fresh", "--quiet", "--note", "first"],
                        res + ".journal", 1500, signal.SIGINT)
if rc == 75:
    run("run", big, "--out", res, "--quiet", "--note", "second", "--tag", "t2", check=0)
    ra = attrs(res)
    c.check(ra.get("note") == "second" and ra.get("tags") == "t2", f"replaced: {ra.get('note')} {ra.get('tags')}")

# program mode records them too: batchtune's own CPU and memory, the note, no data digests
import json
import sys
prog = os.path.join(d, "prog")
os.makedirs(os.path.join(prog, "bin"))
os.symlink(sys.executable, os.path.join(prog, "bin", "python"))
shutil.copy(os.path.join(SRC, "tests", "data", "program", "standin.py"), prog)
prog_sweep = os.path.join(prog, "sweep.json")
with open(prog_sweep, "w") as f:
    json.dump({"program": "standin.py", "method": "grid", "metric": {"name": "val_loss", "goal": "minimize"},
               "parameters": {"lr": {"values": [0.1, 0.2]}}, "execution": {"concurrency": 2}}, f)
prog_out = os.path.join(prog, "p.h5")
env = dict(os.environ, PATH=os.path.join(prog, "bin") + os.pathsep + os.environ["PATH"])
env.pop("BATCHTUNE_GPUS", None)
p = subprocess.run([BIN, "run", prog_sweep, "--out", prog_out, "--quiet", "--system-every", "0.05",
                    "--note", "program", "--tag", "p"], env=env, capture_output=True, text=True)
c.check(p.returncode == 0, f"program sweep: {p.returncode} {p.stderr[-300:]}")
if p.returncode == 0:
    with h5py.File(prog_out) as f:
        c.check("system" in f and len(f["system"]) >= 1, "program mode: /system rows")
    pa = attrs(prog_out)
    c.check(pa.get("note") == "program" and pa.get("tags") == "p", f"program mode: note {pa.get('note')}")
    c.check("train_sha256" not in pa, "program mode: no data digests (no data loaded)")
c.finish()
