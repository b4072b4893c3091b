"""Runs the hostile-input corpus (corpus.tsv beside this file, issue 15): each bad sweep or data
file through `batchtune validate` or `run`, checking the exit code, the fragments of the message
(its FILE:LINE:COL) and, for the bombs, the time. The few files too big or too live to keep in the
repository (a gzip bomb, a 17 MB sweep, 100k values, 200k keys, a FIFO) are made here first.
Every output must also be free of control characters: no file's bytes reach a terminal raw."""
import gzip
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.abspath(os.path.join(HERE, "..", ".."))
BIN = os.path.abspath(os.environ.get("BATCHTUNE", os.path.join(SRC, "build", "batchtune")))
# Under AddressSanitizer (CI's second build) a corrupt HDF5 file makes libhdf5 itself ask malloc
# for petabytes; without a sanitizer malloc says NULL and HDF5 reports an error, which the corpus
# checks. Let the sanitizer's malloc say NULL as well rather than abort.
_asan = os.environ.get("ASAN_OPTIONS", "")
ENV = dict(os.environ, ASAN_OPTIONS=(_asan + ":" if _asan else "") + "allocator_may_return_null=1")


def generate(gen):
    os.makedirs(gen)
    # 80 MB of CSV in about 80 KB: over the 64 MiB floor and 100x the compressed size
    with gzip.open(os.path.join(gen, "bomb.csv.gz"), "wb", compresslevel=9) as g:
        g.write(b"a,t\n")
        block = b"0,0\n" * (1 << 20)
        for _ in range(20):
            g.write(block)
    with open(os.path.join(SRC, "sweeps", "examples", "boston-grid.json")) as f:
        sweep = f.read().replace('"data/boston.csv"',
                                 '"' + os.path.join(SRC, "sweeps", "examples", "data", "boston.csv") + '"')
    with open(os.path.join(gen, "sweep-17mb.json"), "w") as f:
        f.write(sweep.rstrip().rstrip("}") + " " * (17 << 20) + "}\n")
    values = ", ".join(str((i + 1) / 200000) for i in range(100000))
    with open(os.path.join(gen, "values-100k.json"), "w") as f:
        f.write('{"method": "random", "run_cap": 3, "metric": {"name": "rmse"},\n'
                ' "parameters": {"eta": {"values": [' + values + ']}},\n'
                ' "model": {"type": "gbdt", "objective": "reg:squarederror"},\n'
                ' "dataset": {"synthetic": "friedman1"}}\n')
    keys = ", ".join(f'"k{i}": {i}' for i in range(200000))
    with open(os.path.join(gen, "keys-200k.json"), "w") as f:
        f.write('{"method": "random", "run_cap": 3, "metric": {"name": "rmse"},\n'
                ' "parameters": {"eta": {"values": [0.1]}}, "controller": {' + keys + '},\n'
                ' "model": {"type": "gbdt", "objective": "reg:squarederror"},\n'
                ' "dataset": {"synthetic": "friedman1"}}\n')
    os.mkfifo(os.path.join(gen, "fifo.csv"))


def feed_fifo(path, stop):
    """Writes boston.csv into the FIFO once, for the one case that reads it."""
    with open(os.path.join(SRC, "sweeps", "examples", "data", "boston.csv"), "rb") as f:
        data = f.read()
    while not stop.is_set():
        try:
            fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
        except OSError:  # no reader yet
            time.sleep(0.02)
            continue
        os.set_blocking(fd, True)
        try:
            os.write(fd, data)
        except BrokenPipeError:
            pass
        os.close(fd)
        return


def main():
    if not os.access(BIN, os.X_OK):
        print(f"SKIP: no batchtune at {BIN}")
        return 77
    tmp = tempfile.mkdtemp(prefix="bt_hostile_")
    try:
        work = os.path.join(tmp, "corpus")
        shutil.copytree(HERE, work, ignore=shutil.ignore_patterns("*.py", "*.tsv"))
        gen = os.path.join(work, "gen")
        generate(gen)
        stop = threading.Event()
        feeder = threading.Thread(target=feed_fifo, args=(os.path.join(gen, "fifo.csv"), stop), daemon=True)
        feeder.start()
        failed = run_all(work, gen)
        stop.set()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failed else 0


def run_all(work, gen):
    failed = n = 0
    control = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
    with open(os.path.join(HERE, "corpus.tsv")) as f:
        lines = [ln.rstrip("\n") for ln in f if ln.strip() and not ln.startswith("#")]
    for k, line in enumerate(lines):
        cols = line.split("\t")
        want_rc, args, expect = int(cols[0]), cols[1], cols[2]
        max_s = float(cols[3]) if len(cols) > 3 else 60
        out = os.path.join(work, f"out{k}.h5")
        argv = [a.replace("{out}", out).replace("{gen}", gen) for a in shlex.split(args)]
        t0 = time.time()
        try:
            p = subprocess.run([BIN, *argv], cwd=os.path.join(work, "sweeps"), capture_output=True,
                               timeout=max(max_s, 60), env=ENV)
            rc, text = p.returncode, (p.stdout + p.stderr).decode("utf-8", "replace")
        except subprocess.TimeoutExpired:
            rc, text = "timeout", ""
        secs = time.time() - t0
        problems = []
        if rc != want_rc:
            problems.append(f"exit {rc}, expected {want_rc}")
        for frag in expect.split(";;"):
            if frag.startswith("!"):
                if frag[1:] in text:
                    problems.append(f"says {frag[1:]!r}")
            elif frag not in text:
                problems.append(f"does not say {frag!r}")
        if control.search(text):
            problems.append("prints a control character")
        if secs > max_s:
            problems.append(f"took {secs:.1f} s (limit {max_s:g})")
        n += 1
        if problems:
            failed += 1
            print(f"FAIL batchtune {args}: {'; '.join(problems)}\n  output: {text[-1500:]!r}")
        else:
            print(f"ok   batchtune {args} -> {rc} ({secs:.2f} s)")
    print(f"hostile corpus: {n} cases, {failed} failed")
    return failed


if __name__ == "__main__":
    sys.exit(main())
