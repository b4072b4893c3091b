"""The sweep-file size cap (16 MiB): a 17 MB file, /dev/zero and a FIFO whose writer never stops
are each refused with exit 65 and the message naming the limit, in bounded time and memory (the
reader takes at most cap + 1 bytes); a 15 MB sweep under the cap still validates."""
import os
import subprocess
import time

from btutil import BIN, Checker, SRC, run, workdir

c = Checker("test_cli_sweep_cap")
d = workdir("cli_sweep_cap")
MSG = "larger than 16 MiB, the limit for a sweep file"


def refused(args, what):
    t0 = time.time()
    p = run(*args, timeout=60)
    secs = time.time() - t0
    c.check(p.returncode == 65, f"{what}: exit {p.returncode}\n{p.stderr}")
    c.check(MSG in p.stderr, f"{what}: {p.stderr[:500]}")
    c.check(secs < 30, f"{what}: took {secs:.1f} s")


with open(os.path.join(SRC, "sweeps", "examples", "boston-grid.json")) as f:
    sweep = f.read()
data = os.path.join(SRC, "sweeps", "examples", "data")
sweep = sweep.replace('"data/boston.csv"', f'"{os.path.join(data, "boston.csv")}"')

under = os.path.join(d, "under.json")
with open(under, "w") as f:
    f.write(sweep.rstrip().rstrip("}") + " " * (15 << 20) + "}\n")
p = run("validate", under, timeout=60)
c.check(p.returncode == 0, f"15 MB sweep: exit {p.returncode}\n{p.stderr[:500]}")

over = os.path.join(d, "over.json")
with open(over, "w") as f:
    f.write(sweep.rstrip().rstrip("}") + " " * (17 << 20) + "}\n")
refused(["validate", over], "17 MB file")
refused(["run", over, "--out", os.path.join(d, "over.h5"), "--fresh", "--quiet"], "17 MB file, run")

refused(["validate", "/dev/zero"], "/dev/zero")

fifo = os.path.join(d, "sweep.fifo")
if os.path.exists(fifo):
    os.unlink(fifo)
os.mkfifo(fifo)
# `yes` writes for ever; it ends by SIGPIPE once batchtune closes the read end.
writer = subprocess.Popen(["sh", "-c", f"exec yes '{{' > '{fifo}'"], stderr=subprocess.DEVNULL)
try:
    refused(["validate", fifo], "FIFO with an endless writer")
finally:
    try:
        writer.wait(timeout=10)
    except subprocess.TimeoutExpired:
        writer.kill()
        writer.wait()
    os.unlink(fifo)
c.finish()
