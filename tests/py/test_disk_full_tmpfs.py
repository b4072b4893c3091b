"""A real full disk (issue 15, item 1): a small tmpfs holds a stopped sweep's results and journal,
a filler file takes the rest, and the resume must exit 74 with a message, leave the results as
they were and no temporary file (no SIGSEGV from HDF5's exit handler); once there is room again
the same command finishes the sweep. Needs root and mount permission: SKIP (77) elsewhere."""
import os
import shutil
import subprocess
import sys
import tempfile

from btutil import BIN, Checker, SRC, asha_sweep, full_disk_case, need, results_tables, run, workdir

need("h5py", "numpy")

mnt = tempfile.mkdtemp(prefix="bt_tmpfs_")
if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", mnt],
                                       capture_output=True).returncode != 0:
    os.rmdir(mnt)
    print("SKIP: cannot mount a tmpfs (needs root and mount permission)")
    sys.exit(77)

c = Checker("test_disk_full_tmpfs")
try:
    sweep = asha_sweep(mnt, run_cap=30)
    out = os.path.join(mnt, "r.h5")
    filler = os.path.join(mnt, "filler")

    def fill():
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        try:
            while os.write(fd, b"\0" * 4096) > 0:
                pass
        except OSError:
            pass
        os.close(fd)
        return None

    p = full_disk_case(c, sweep, out, fill, "tmpfs")
    if p is not None:
        c.check("No space left" in p.stderr, f"the message says why: {p.stderr[-300:]}")
        os.remove(filler)
        run("run", sweep, "--out", out, "--quiet", check=0)
        ref = os.path.join(workdir("disk_full_tmpfs"), "ref.h5")
        run("run", sweep, "--out", ref, "--fresh", "--quiet", check=0)
        import numpy as np
        same = all(np.array_equal(x, y) for x, y in zip(results_tables(out), results_tables(ref)))
        c.check(same, "finished after the full disk: the same results as an uninterrupted sweep")
        # a finished journal whose results went missing rebuilds them: on a full disk, 74
        os.remove(out)
        fill()
        p = run("run", sweep, "--out", out, "--quiet")
        c.check(p.returncode == 74 and "No space left" in p.stderr,
                f"rebuild on a full disk: exit {p.returncode}: {p.stderr[-300:]}")
        c.check(not os.path.exists(out) and not [n for n in os.listdir(mnt) if ".tmp" in n],
                "rebuild on a full disk: no results file, no temporary file")
finally:
    subprocess.run(["umount", mnt])
    os.rmdir(mnt)
c.finish()
