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
    with open(os.path.join(SRC, "sweeps", name)) as f:
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
