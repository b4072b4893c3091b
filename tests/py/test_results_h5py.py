"""results.h5 as Python users read it: the fixture tool writes a file with known content and
h5py + pandas (and PyTables when present) must see exactly that, with the one-liner the README
shows. Exit 77 (skip) when h5py or pandas is missing."""
import math
import os
import subprocess
import sys
import tempfile

try:
    import h5py
    import numpy as np
    import pandas
except ImportError as e:  # pragma: no cover
    print("SKIP: %s" % e)
    sys.exit(77)

failures = 0


def check(cond, what):
    global failures
    if not cond:
        failures += 1
        print("FAIL:", what)


def as_str(v):
    return v.decode() if isinstance(v, bytes) else str(v)


tools = os.environ.get("BT_TOOLS_DIR")
if not tools:
    print("SKIP: BT_TOOLS_DIR not set")
    sys.exit(77)
fixture = os.path.join(tools, "bt_results_fixture")
tmp = os.environ.get("BT_TEST_TMP") or tempfile.gettempdir()
os.makedirs(tmp, exist_ok=True)
p = os.path.join(tmp, "fixture_results.h5")
subprocess.run([fixture, p], check=True)

# --- the README one-liner ------------------------------------------------------------------
df = pandas.DataFrame(h5py.File(p)["trials"][:])
fixed = ["trial_id", "status", "metric", "best_metric", "resource", "bracket", "rung", "device",
         "seconds"]
params = ["eta", "max_depth", "booster", "use_gpu", "optimizer.lr"]
check(list(df.columns) == fixed + params, "columns %s" % list(df.columns))
check(len(df) == 4, "rows %d" % len(df))
check(list(df["trial_id"]) == [0, 1, 2, 3], "trial_id")
check([as_str(s) for s in df["status"]] == ["completed", "pruned", "failed", "running"], "status")
check(df["metric"][0] == 0.5 and df["metric"][3] == 1.25 and math.isnan(df["metric"][2]),
      "metric %s" % list(df["metric"]))
check(list(df["resource"]) == [10, 20, 30, 40], "resource")
check(list(df["bracket"]) == [0, 1, 0, 1] and list(df["rung"]) == [0, 1, 2, 3], "bracket/rung")
check([as_str(s) for s in df["device"]] == ["cpu", "cuda:1", "cpu", "cuda:3"], "device")
check(list(df["seconds"]) == [0.0, 1.5, 3.0, 4.5], "seconds")
check(list(df["eta"]) == [0.1 * (t + 1) for t in range(4)], "eta %s" % list(df["eta"]))
check(list(df["max_depth"]) == [2, 3, 4, 5], "max_depth")
check([as_str(s) for s in df["booster"]] == ["gbtree", "dart", "gbtree", "dart"], "booster")
check(list(df["use_gpu"]) == [0, 1, 0, 1], "use_gpu")
check(list(df["optimizer.lr"]) == [1e-3 * t for t in range(4)], "optimizer.lr")

with h5py.File(p, "r") as f:
    t = f["trials"]
    check(t.dtype["trial_id"] == np.int64 and t.dtype["max_depth"] == np.int64, "int64 columns")
    check(t.dtype["eta"] == np.float64 and t.dtype["bracket"] == np.int32, "float64/int32")
    check(t.dtype["use_gpu"].itemsize == 1, "bool is one byte")
    check(t.dtype["booster"].itemsize == len("gbtree"), "string sized to the longest value")
    check(t.chunks is not None, "trials is chunked")
    check(as_str(t.attrs["CLASS"]) == "TABLE" and as_str(t.attrs["VERSION"]) == "2.7", "TABLE")
    check(as_str(t.attrs["TITLE"]) == "trials", "TITLE")
    for i, name in enumerate(fixed + params):
        check(as_str(t.attrs["FIELD_%d_NAME" % i]) == name, "FIELD_%d_NAME" % i)

    a = f.attrs
    check(as_str(a["format"]) == "batchtune-results", "format")
    check(int(a["format_version"]) == 1, "format_version")
    check(as_str(a["batchtune_version"]) == "0.1.0", "batchtune_version")
    check(as_str(a["created"]) == "2026-11-23T15:04:05Z", "created")
    check(as_str(a["sweep"]).startswith("{\n  \"method\": \"random\""), "sweep verbatim")
    check(len(as_str(a["sweep_sha256"])) == 64, "sweep_sha256")
    check(as_str(a["sweep_path"]) == "sweeps/fixture.json", "sweep_path")
    check(int(a["seed"]) == 18446744073709551557, "seed (uint64) %r" % a["seed"])
    check(as_str(a["host"]) == "fixture-host", "host")
    check(as_str(a["command_line"]) == "batchtune sweeps/fixture.json", "command_line")
    check(as_str(a["metric"]) == "mse" and as_str(a["goal"]) == "minimize", "metric/goal")
    check(as_str(a["scheduler"]) == "hyperband" and as_str(a["model"]) == "gbdt", "sched/model")
    check([as_str(s) for s in a["metric_names"]] == ["mse", "train-mse"], "metric_names")

    h = pandas.DataFrame(f["history"][:])
    check(list(h.columns) == ["trial_id", "resource", "metric", "value", "time"], "history cols")
    check(len(h) == 24, "history rows")
    check(list(h["trial_id"][:6]) == [0] * 6 and list(h["resource"][:6]) == [1, 1, 2, 2, 3, 3],
          "history trial/resource")
    check([as_str(s) for s in h["metric"][:2]] == ["mse", "train-mse"], "history metric names")
    check(list(h["value"]) == [1.0 / (k + 1) for k in range(24)], "history values")
    check(as_str(f["history"].attrs["CLASS"]) == "TABLE", "history TABLE")

    g = pandas.DataFrame(f["rungs"][:])
    check(list(g.columns) == ["bracket", "rung", "trial_id", "resource", "metric", "promoted"],
          "rungs columns")
    check(list(g["trial_id"]) == [0, 1] and list(g["promoted"]) == [1, 0], "rungs rows")

    b = f["best"]
    check(int(b.attrs["trial_id"]) == 0 and float(b.attrs["metric"]) == 0.5, "best trial")
    check(int(b.attrs["resource"]) == 10, "best resource")
    check(float(b.attrs["eta"]) == 0.1 and int(b.attrs["max_depth"]) == 2, "best params")
    check(as_str(b.attrs["booster"]) == "gbtree" and int(b.attrs["use_gpu"]) == 0, "best params 2")
    check(bytes(b["model"][:]) == b'{"learner": {}}', "best model bytes")
    check(as_str(b["model"].attrs["format"]) == "xgboost-json", "best model format")

# --- PyTables sees a table (optional) --------------------------------------------------------
try:
    import warnings
    import tables
except ImportError:
    tables = None
if tables is not None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 'optimizer.lr' is no Python identifier: a warning
        with tables.open_file(p, "r") as h:
            node = h.get_node("/trials")
            check(isinstance(node, tables.Table), "PyTables reads /trials as a Table")
            check(node.nrows == 4 and list(node.colnames) == fixed + params, "PyTables columns")
            check(list(node.col("max_depth")) == [2, 3, 4, 5], "PyTables values")

# --- an empty sweep is still a valid file ---------------------------------------------------
pe = os.path.join(tmp, "fixture_results_empty.h5")
subprocess.run([fixture, pe, "--empty"], check=True)
de = pandas.DataFrame(h5py.File(pe)["trials"][:])
check(len(de) == 0 and list(de.columns) == fixed + params, "empty table columns")
with h5py.File(pe, "r") as f:
    check(len(f["history"]) == 0 and len(f["rungs"]) == 0, "empty history/rungs")
    check(int(f["best"].attrs["trial_id"]) == -1 and "model" not in f["best"], "empty best")

for q in (p, pe):
    os.unlink(q)
print("test_results_h5py: %d failures" % failures)
sys.exit(1 if failures else 0)
