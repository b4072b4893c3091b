"""Program mode end to end, with real subprocesses (stand-ins in Python, sh and C): reports as JSON
lines, the results file, the environment, GPU slots (a fake GPU list), failures (crash, hang,
noise, silence, NaN, retries), the schedulers stopping children (none left behind), SIGKILL and
SIGTERM of batchtune then a re-run, argv injection, validate."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from btutil import BIN, SRC, TMP, Checker, need, wait_journal  # noqa: E402

need("h5py")
import h5py  # noqa: E402

C = Checker("test_program")
DATA = os.path.join(SRC, "tests", "data", "program")
TOOLS = os.environ.get("BT_TOOLS_DIR", os.path.join(SRC, "build", "tests", "tools"))
W = os.path.join(TMP, "program")
shutil.rmtree(W, ignore_errors=True)
os.makedirs(W)
# W&B's ${interpreter} is `python`: make it this machine's python3 (a pyenv shim starts slowly)
BINDIR = os.path.join(W, "bin")
os.makedirs(BINDIR)
os.symlink(sys.executable, os.path.join(BINDIR, "python"))
ENV = dict(os.environ, PATH=BINDIR + os.pathsep + os.environ["PATH"])
ENV.pop("BATCHTUNE_GPUS", None)


def sweep(name, body):
    d = os.path.join(W, name)
    os.makedirs(d, exist_ok=True)
    shutil.copy(os.path.join(DATA, "standin.py"), d)
    path = os.path.join(d, "sweep.json")
    with open(path, "w") as f:
        json.dump(body, f, indent=1)
    return path


def run(path, *extra, env=None, rc=0):
    out = path[:-5] + ".h5"
    p = subprocess.run([BIN, "run", path, "--out", out, "--quiet", *extra], capture_output=True,
                       text=True, env=env or ENV, timeout=300)
    C.check(p.returncode == rc, f"{path}: exit {p.returncode}, expected {rc}\n{p.stdout}\n{p.stderr}")
    return out, p


def trials(out):
    with h5py.File(out) as f:
        t = f["trials"][:]
        names = [n.decode() if isinstance(n, bytes) else n for n in f["history"].attrs.get(
            "metric_names", f.attrs.get("metric_names", []))]
        h = f["history"][:]
    return t, h, names


def status(t):
    return [s.decode() for s in t["status"]]


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is dead too
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[1].split()[0] != "Z"
    except OSError:
        return False


def pids(out_dir_glob_root, names=("pid", "grandchild")):
    """The pids the stand-in recorded under a logs folder. A file still empty is a trial killed
    between creating it and writing its pid (a SIGKILLed sweep takes its trials with it)."""
    found = []
    for root, _, files in os.walk(out_dir_glob_root):
        for n in names:
            if n in files:
                text = open(os.path.join(root, n)).read().strip()
                if text:
                    found.append(int(text))
    return found


def basic():
    p = sweep("basic", {"program": "standin.py", "method": "grid",
                        "metric": {"name": "val_loss", "goal": "minimize"},
                        "parameters": {"lr": {"values": [0.1, 0.2, 0.3]},
                                       "opt": {"values": ["adam", "sgd"]}},
                        "execution": {"concurrency": 2}})
    out, _ = run(p)
    t, h, names = trials(out)
    C.check(len(t) == 6 and status(t) == ["completed"] * 6, f"basic: {t}")
    C.check(list(t["lr"]) == [0.1, 0.1, 0.2, 0.2, 0.3, 0.3], "basic: grid order, last fastest")
    C.check(abs(t["metric"][0] - 0.2) < 1e-12 and t["resource"][0] == 5, "basic: last report")
    C.check(set(names) >= {"val_loss", "epoch", "train.loss"}, f"basic: history keys {names}")
    C.check(len(h) == 6 * 5 * 3, f"basic: {len(h)} history rows")
    C.check(sorted(r["value"] for r in h if r["trial_id"] == 0 and r["metric"] == b"epoch") == [1, 2, 3, 4, 5], "basic: epochs")
    argv = json.load(open(out + ".logs/trial-1/argv.json"))
    C.check(argv == ["--lr=0.1", "--opt=sgd"], f"basic: argv {argv}")
    # a second run of a finished sweep does nothing
    _, pr = run(p)
    C.check("already finished" in pr.stdout, "basic: finished sweep not rerun")


def run_cap():
    """--run-cap N runs a program sweep's first N trials, and the results say so."""
    p = sweep("capped", {"program": "standin.py", "method": "grid",
                         "metric": {"name": "val_loss", "goal": "minimize"},
                         "parameters": {"lr": {"values": [0.1, 0.2, 0.3]},
                                        "opt": {"values": ["adam", "sgd"]}}})
    out, _ = run(p, "--run-cap", "3")
    t, _, _ = trials(out)
    C.check(status(t) == ["completed"] * 3 and list(t["lr"]) == [0.1, 0.1, 0.2],
            f"run_cap: {status(t)} {list(t['lr'])}")
    with h5py.File(out) as f:
        C.check(int(f.attrs.get("run_cap_override", 0)) == 3, f"run_cap: {dict(f.attrs)}")


def env_and_gpus():
    p = sweep("gpus", {"program": "standin.py", "method": "grid",
                       "metric": {"name": "val_loss"},
                       "parameters": {"lr": {"values": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]},
                                      "mode": {"value": "env"}, "delay": {"value": 0.05}},
                       "execution": {"per_gpu": 2}})
    log = os.path.join(W, "gpus", "events.jsonl")
    out, _ = run(p, "--log", log, env=dict(ENV, BATCHTUNE_GPUS="3,5"))
    t, _, _ = trials(out)
    C.check(status(t) == ["completed"] * 6, f"gpus: {status(t)}")
    ev = [json.loads(x) for x in open(log)]
    start = [e for e in ev if e["event"] == "sweep_start"][0]
    C.check(start["slots"] == 4 and start["gpus"] == 2, f"gpus: {start}")
    seen = set()
    for i in range(6):
        e = json.load(open(f"{out}.logs/trial-{i}/env.json"))
        dev = t["device"][i].decode()
        C.check(dev == "cuda:" + e["CUDA_VISIBLE_DEVICES"], f"gpus: trial {i} {dev} {e}")
        seen.add(e["CUDA_VISIBLE_DEVICES"])
        C.check(e["BATCHTUNE_TRIAL_ID"] == str(i) and e["BATCHTUNE_ATTEMPT"] == "1", f"env {e}")
        C.check(json.loads(e["BATCHTUNE_PARAMS"])["lr"] == t["lr"][i], f"env params {e}")
        C.check(e["WANDB_RUN_ID"].endswith(f"-{i}") and e["WANDB_SWEEP_ID"], f"env wandb {e}")
        cfg = json.load(open(e["WANDB_SWEEP_PARAM_PATH"]))
        C.check(cfg["lr"] == {"value": t["lr"][i]}, f"env: W&B config file {cfg}")
    C.check(seen == {"3", "5"}, f"gpus: slots on {seen}")
    # at most per_gpu trials at once on a GPU: count overlaps from the start/stop events
    running, worst = {}, 0
    for e in ev:
        if e["event"] == "trial_start":
            g = e["device"]
            running[g] = running.get(g, 0) + 1
            worst = max(worst, running[g])
        elif e["event"] == "trial_stop":
            g = t["device"][e["trial"]].decode()
            running[g] -= 1
    C.check(worst <= 2, f"gpus: {worst} trials at once on one GPU")


def failures():
    p = sweep("fail", {"program": "standin.py", "method": "grid",
                       "metric": {"name": "val_loss"},
                       "parameters": {"mode": {"values": ["crash", "hang", "noisy", "silent",
                                                          "nan", "flaky", "ok"]}},
                       "execution": {"trial_timeout": 3, "grace": 1, "retries": 1,
                                     "log_cap": 100000, "concurrency": 4}})
    out, _ = run(p)
    t, _, _ = trials(out)
    st = dict(zip([m.decode() for m in t["mode"]], status(t)))
    err = dict(zip([m.decode() for m in t["mode"]], [e.decode() for e in t["error"]]))
    C.check(st == {"crash": "failed", "hang": "failed", "noisy": "completed", "silent": "failed",
                   "nan": "failed", "flaky": "completed", "ok": "completed"}, f"failures: {st}")
    C.check("exit status 7" in err["crash"] and "boom at epoch 2" in err["crash"], err["crash"])
    C.check("timed out" in err["hang"], err["hang"])
    C.check("without reporting val_loss" in err["silent"], err["silent"])
    C.check(err["ok"] == "" and err["flaky"] == "", f"failures: errors {err}")
    noisy = os.path.getsize(out + ".logs/trial-2.log")
    C.check(100000 - 1100 <= noisy <= 100000 + 200, f"failures: noisy log {noisy} bytes")
    C.check("[batchtune: attempt 2]" in open(out + ".logs/trial-5.log").read(), "flaky retried")
    C.check(not [x for x in pids(out + ".logs") if alive(x)], "failures: a process survived")


def wandb_shim():
    d = os.path.join(W, "shim")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "prog.py"), "w") as f:
        f.write("""import wandb
def train():
    run = wandb.init(config={"lr": 5.0, "keep": 7})
    c = wandb.config
    assert dict(c)["keep"] == 7 and c["lr"] == c.lr and c.nested["a"] == 1
    c.update({"x": 1}); c.setdefaults({"x": 2, "y": 3}); assert c.x == 1 and c.y == 3
    wandb.watch(None); wandb.save("x"); wandb.define_metric("val_loss", summary="min")
    t = wandb.Table(columns=["a"]); a = wandb.Artifact("m", type="model")
    for e in range(4):
        wandb.log({"val_loss": c.lr / (e + 1)}, commit=False)
        wandb.log({"acc": 0.5, "img": wandb.Image(None)})
    wandb.log({"late": 1.0}, step=10)
    run.summary["best"] = 0.25
    assert wandb.run is run
    wandb.finish()
    assert wandb.run is None
wandb.agent("sweep", function=train, count=1)
""")
    p = os.path.join(d, "sweep.json")
    json.dump({"program": "prog.py", "method": "grid", "metric": {"name": "val_loss"},
               "parameters": {"lr": {"values": [1.0, 2.0]},
                              "nested": {"parameters": {"a": {"value": 1}}}}}, open(p, "w"))
    out, _ = run(p)
    t, h, names = trials(out)
    C.check(status(t) == ["completed"] * 2, f"shim: {status(t)} {t['error']}")
    C.check(abs(t["metric"][0] - 0.25) < 1e-12, f"shim: metric {t['metric']}")
    C.check({"val_loss", "acc", "_step", "late", "best"} <= set(names), f"shim: keys {names}")
    log = open(out + ".logs/trial-0.log").read()
    C.check("wandb.watch does nothing" in log and "wandb.Table does nothing" in log, log)
    C.check(log.count("wandb.watch") == 1, "shim: a no-op is noted once")


def stopping(kind):
    sched = ({"scheduler": {"type": "asha", "max_resource": 9, "eta": 3}} if kind == "asha"
             else {"early_terminate": {"type": "hyperband", "min_iter": 1, "eta": 3}})
    p = sweep(kind, {"program": "standin.py", "method": "random", "run_cap": 9,
                     "metric": {"name": "val_loss"},
                     "parameters": {"lr": {"min": 0.01, "max": 1.0}, "epochs": {"value": 9},
                                    "mode": {"value": "child"}, "delay": {"value": 0.1}},
                     "execution": {"concurrency": 3, "grace": 1}, **sched})
    out, _ = run(p)
    t, _, _ = trials(out)
    s = status(t)
    C.check(s.count("pruned") >= 1 and "failed" not in s, f"{kind}: {s}")
    # ASHA's top rung is 9, where a trial completes; W&B's hyperband has no top (min_iter 1, eta
    # 3: bands 1, 3, 9, 27, ...), so a trial reporting its 9th epoch meets band 9 and may be
    # stopped there, its program done or not (it happened in CI, depending on how far the others
    # had got)
    for i in range(len(t)):
        if s[i] == "pruned":
            C.check(t["resource"][i] < 9 if kind == "asha" else t["resource"][i] <= 9,
                    f"{kind}: pruned trial {i} at resource {t['resource'][i]}")
    with h5py.File(out) as f:
        C.check(len(f["rungs"]) > 0, f"{kind}: no rung decisions")
    time.sleep(0.2)
    left = [x for x in pids(out + ".logs") if alive(x)]
    C.check(not left, f"{kind}: processes left behind: {left}")


def kill_and_resume():
    p = sweep("resume", {"program": "standin.py", "method": "grid",
                         "metric": {"name": "val_loss"},
                         "parameters": {"lr": {"values": [0.1 * i for i in range(1, 9)]},
                                        "epochs": {"value": 4}, "mode": {"value": "child"},
                                        "delay": {"value": 0.1}},
                         "execution": {"concurrency": 2}})
    out = p[:-5] + ".h5"
    proc = subprocess.Popen([BIN, "run", p, "--out", out, "--quiet", "--fresh"], env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    # kill once a few trials have ended (journal lines), mid-sweep
    reached = wait_journal(proc, out + ".journal", 40)
    proc.kill()
    proc.wait()
    C.check(reached, "resume: the sweep ended before the kill")
    time.sleep(0.3)
    direct = pids(out + ".logs", ("pid",))
    C.check(not [x for x in direct if alive(x)], "resume: a trial outlived a SIGKILLed batchtune")
    _, pr = run(p)
    time.sleep(0.2)  # grandchildren left by the killed sweep are gone once the re-run started
    left = [x for x in pids(out + ".logs") if alive(x)]
    C.check(not left, f"resume: processes left behind: {left}")
    C.check("(resumed)" in pr.stdout, f"resume: {pr.stdout}")
    t, h, _ = trials(out)
    C.check(status(t) == ["completed"] * 8, f"resume: {status(t)}")
    for i in range(8):  # each trial's curve once, from its last (whole) attempt
        eps = sorted(r["resource"] for r in h if r["trial_id"] == i and r["metric"] == b"val_loss")
        C.check(eps == [1, 2, 3, 4], f"resume: trial {i} history {eps}")


def tpe_resume():
    p = sweep("tpe", {"program": "standin.py", "method": "tpe", "run_cap": 12,
                      "metric": {"name": "val_loss"},
                      "parameters": {"lr": {"min": 0.01, "max": 1.0}, "epochs": {"value": 3},
                                     "delay": {"value": 0.05}},
                      "execution": {"concurrency": 2}})
    out = p[:-5] + ".h5"
    proc = subprocess.Popen([BIN, "run", p, "--out", out, "--quiet", "--fresh"], env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    C.check(wait_journal(proc, out + ".journal", 30), "tpe: the sweep ended before the kill")
    proc.kill()
    proc.wait()
    _, pr = run(p)
    C.check("(resumed)" in pr.stdout, f"tpe: {pr.stdout}")
    t, _, _ = trials(out)
    C.check(status(t) == ["completed"] * 12, f"tpe: {status(t)}")
    starts = [json.loads(x) for x in open(out + ".journal") if '"k":"start"' in x]
    first = {}
    for r in starts:  # a trial started again keeps its arguments
        first.setdefault(r["trial"], r["text"])
        C.check(first[r["trial"]] == r["text"], f"tpe: trial {r['trial']} changed arguments")


def sigterm():
    p = sweep("term", {"program": "standin.py", "method": "grid", "metric": {"name": "val_loss"},
                       "parameters": {"lr": {"values": [0.1, 0.2, 0.3, 0.4]},
                                      "mode": {"value": "hang"}},
                       "execution": {"concurrency": 2, "grace": 1}})
    out = p[:-5] + ".h5"
    proc = subprocess.Popen([BIN, "run", p, "--out", out, "--quiet", "--fresh"], env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wait_journal(proc, out + ".journal", 6)
    t0 = time.time()
    proc.send_signal(signal.SIGTERM)
    rc = proc.wait(timeout=30)
    C.check(rc == 75, f"sigterm: exit {rc}")
    C.check(time.time() - t0 < 10, "sigterm: the children were not stopped within grace")
    time.sleep(0.2)
    C.check(not [x for x in pids(out + ".logs") if alive(x)], "sigterm: children left")
    with h5py.File(out) as f:
        C.check(len(f["trials"]) >= 1, "sigterm: results written")


def languages():
    d = os.path.join(W, "lang")
    os.makedirs(d, exist_ok=True)
    shutil.copy(os.path.join(DATA, "standin.sh"), d)
    p = os.path.join(d, "sh.json")
    json.dump({"program": "standin.sh", "method": "grid", "metric": {"name": "val_loss"},
               "command": ["${program}", "${args}"],
               "parameters": {"a": {"values": [1, 2]}}}, open(p, "w"))
    out, _ = run(p)
    t, _, _ = trials(out)
    C.check(status(t) == ["completed"] * 2 and abs(t["metric"][0] - 0.3) < 1e-12, f"sh: {t}")
    exe = os.path.join(TOOLS, "bt_program_standin")
    p = os.path.join(d, "c.json")
    json.dump({"method": "grid", "metric": {"name": "val_loss"},
               "command": [exe, "${args}"], "scheduler": {"type": "sha", "max_resource": 4,
                                                          "eta": 2},
               "parameters": {"lr": {"values": [1.0, 2.0, 3.0, 4.0]}}}, open(p, "w"))
    out, _ = run(p)
    t, _, _ = trials(out)
    C.check(status(t).count("completed") >= 1 and abs(min(t["metric"]) - 0.25) < 1e-12,
            f"c: {status(t)} {t['metric']}")


def injection():
    p = sweep("inject", {"program": "standin.py", "method": "grid", "metric": {"name": "val_loss"},
                         "parameters": {"mode": {"values": ["x; rm -rf ~", "$(touch pwned)",
                                                            "`touch pwned2`"]}}})
    out, _ = run(p)
    d = os.path.dirname(p)
    for i, v in enumerate(["x; rm -rf ~", "$(touch pwned)", "`touch pwned2`"]):
        argv = json.load(open(f"{out}.logs/trial-{i}/argv.json"))
        C.check(argv == ["--mode=" + v], f"injection: {argv}")
    C.check(not any(os.path.exists(os.path.join(x, n)) for x in (d, os.getcwd(), W)
                    for n in ("pwned", "pwned2")), "injection: a command ran")


def validate():
    p = sweep("validate", {"program": "standin.py", "method": "random", "run_cap": 3,
                           "parameters": {"lr": {"min": 0.1, "max": 0.2}}})
    r = subprocess.run([BIN, "validate", p], capture_output=True, text=True, env=ENV)
    C.check(r.returncode == 0 and "'standin.py'" in r.stdout and "--lr=" in r.stdout,
            f"validate: {r.returncode} {r.stdout} {r.stderr}")
    with open(p, "w") as f:
        json.dump({"program": "missing.py", "method": "grid",
                   "parameters": {"lr": {"value": 1}}}, f)
    r = subprocess.run([BIN, "validate", p], capture_output=True, text=True, env=ENV)
    C.check(r.returncode == 66 and "missing.py" in r.stderr, f"validate missing: {r.stderr}")
    with open(p, "w") as f:
        json.dump({"program": "standin.py", "method": "grid", "model": {"type": "gbdt"},
                   "parameters": {"max_depth": {"value": 3}},
                   "execution": {"per_gpu": 2}}, f)
    r = subprocess.run([BIN, "validate", p], capture_output=True, text=True, env=ENV)
    C.check(r.returncode == 65 and "only program sweeps" in r.stderr, f"validate: {r.stderr}")


def validate_wandb_forms():
    """What real W&B sweep files do: a program run as the executable through ${env} is found on
    PATH, a top-level key W&B ignores is a warning, a file for wandb.agent(function=...) gets
    one message naming both ways, and the plan lists the parameters and the stopping rule."""
    d = os.path.dirname(sweep("vforms", {}))
    exe = os.path.join(BINDIR, "bt-test-trainer")
    with open(exe, "w") as f:
        f.write("#!/bin/sh\nexit 0\n")
    os.chmod(exe, 0o755)
    p = os.path.join(d, "sweep.yaml")
    body = {"program": "bt-test-trainer", "method": "random", "run_cap": 3, "RUN": 10,
            "command": ["${env}", "${program}", "train", "${args}"],
            "metric": {"name": "val_loss"},
            "early_terminate": {"type": "hyperband", "min_iter": 3, "eta": 3},
            "parameters": {"lr": {"min": 0.1, "max": 0.2}, "device": {"value": "cuda:0"}}}
    with open(p, "w") as f:
        json.dump(body, f)
    r = subprocess.run([BIN, "validate", p], capture_output=True, text=True, env=ENV)
    C.check(r.returncode == 0 and "'/usr/bin/env' 'bt-test-trainer' 'train'" in r.stdout,
            f"validate on PATH: {r.returncode} {r.stdout} {r.stderr}")
    C.check("RUN: unknown key, ignored" in r.stderr, f"validate: RUN warning: {r.stderr}")
    C.check("lr                       uniform [0.1, 0.2]" in r.stdout and
            "device                   value (1)" in r.stdout, f"validate: parameters: {r.stdout}")
    C.check("from 3 (no upper bound), eta 3" in r.stdout, f"validate: hyperband: {r.stdout}")
    body["command"] = ["env", "${program}", "${args}"]
    with open(p, "w") as f:
        json.dump(body, f)
    r = subprocess.run([BIN, "validate", p], capture_output=True, text=True, env=ENV)
    C.check(r.returncode == 0, f"validate: a literal env: {r.returncode} {r.stderr}")
    body["command"] = ["${env}", "${interpreter}", "${program}", "${args}"]
    with open(p, "w") as f:
        json.dump(body, f)
    r = subprocess.run([BIN, "validate", p], capture_output=True, text=True, env=ENV)
    C.check(r.returncode == 66 and "bt-test-trainer not found (looked in " in r.stderr and
            "on PATH" not in r.stderr, f"validate: a script is a file: {r.stderr}")
    with open(p, "w") as f:
        json.dump({"method": "bayes", "metric": {"name": "val_loss"},
                   "parameters": {"lr": {"min": 0.1, "max": 0.2}}}, f)
    r = subprocess.run([BIN, "validate", p], capture_output=True, text=True, env=ENV)
    C.check(r.returncode == 65 and "program: missing" in r.stderr and
            "wandb.agent(sweep_id, function=...)" in r.stderr and "dataset" not in
            r.stderr.split("function=...)")[0] and "1 problem" in r.stderr,
            f"validate: no program: {r.stderr}")


def validate_missing():
    """validate says ok only when trials can start: a missing or non-executable command, or a
    missing program, is exit 66 with FILE:LINE:COL and where it was looked for, and nothing on
    stdout (no half line)."""
    d = os.path.dirname(sweep("vmissing", {}))
    p = os.path.join(d, "sweep.json")
    cases = [(["venv/bin/python", "${program}", "${args}"],
              "command: venv/bin/python is not an executable file (looked in " + d +
              ", the sweep file's folder, where trials run)"),
             (["bt-no-such-tool", "${program}"],
              "command: bt-no-such-tool is not an executable file (looked on PATH and in " + d),
             (["/nonexistent/bin/python", "${program}"],
              "command: /nonexistent/bin/python is not an executable file")]
    for cmd, want in cases:
        with open(p, "w") as f:
            f.write('{"program": "standin.py", "method": "grid",\n "command": %s,\n'
                    ' "parameters": {"x": {"values": [1, 2]}}}\n' % json.dumps(cmd))
        r = subprocess.run([BIN, "validate", p], capture_output=True, text=True, env=ENV)
        C.check(r.returncode == 66 and f"{p}:2:14: {want}" in r.stderr and r.stdout == "",
                f"validate missing {cmd[0]}: {r.returncode} {r.stdout!r} {r.stderr}")
    os.makedirs(os.path.join(d, "venv", "bin"), exist_ok=True)
    open(os.path.join(d, "venv", "bin", "python"), "w").close()  # there, not executable
    with open(p, "w") as f:
        json.dump({"program": "standin.py", "method": "grid",
                   "command": ["venv/bin/python", "${program}"],
                   "parameters": {"x": {"values": [1, 2]}}}, f)
    r = subprocess.run([BIN, "validate", p], capture_output=True, text=True, env=ENV)
    C.check(r.returncode == 66 and "is there but not executable (chmod +x)" in r.stderr,
            f"validate not executable: {r.stderr}")
    with open(p, "w") as f:
        f.write('{"method": "grid",\n "program": "/nonexistent/train.py",\n'
                ' "parameters": {"x": {"values": [1, 2]}}}\n')
    r = subprocess.run([BIN, "validate", p], capture_output=True, text=True, env=ENV)
    C.check(r.returncode == 66 and f"{p}:2:13: program: /nonexistent/train.py not found\n" in
            r.stderr and r.stdout == "", f"validate absolute program: {r.stdout!r} {r.stderr}")


def reserved_names():
    """Parameters named like /trials' own columns (W&B sweeps often sweep `device`) get columns
    of their own, "param:NAME", and reach the program under their names."""
    p = sweep("reserved", {"program": "standin.py", "method": "grid",
                           "metric": {"name": "val_loss", "goal": "minimize"},
                           "parameters": {"lr": {"values": [0.1, 0.2]},
                                          "device": {"value": "cuda:0"},
                                          "error": {"values": [1, 2]},
                                          "metric": {"value": "acc"},
                                          "status": {"value": "x"}}})
    out, _ = run(p)
    t, _, _ = trials(out)
    C.check(len(t) == 4 and status(t) == ["completed"] * 4, f"reserved: {status(t)}")
    C.check([x.decode() for x in t["param:device"]] == ["cuda:0"] * 4 and
            list(t["param:error"]) == [1, 2, 1, 2] and t["device"][0].decode() == "cpu",
            f"reserved: columns {t.dtype.names}")
    argv = json.load(open(out + ".logs/trial-1/argv.json"))
    C.check(argv == ["--lr=0.1", "--device=cuda:0", "--error=2", "--metric=acc", "--status=x"],
            f"reserved: argv {argv}")
    with h5py.File(out) as f:
        C.check(f["best"].attrs["param:device"] in (b"cuda:0", "cuda:0"), "reserved: /best")
    for fmt in ("table", "csv", "json", "html"):
        r = subprocess.run([BIN, "report", out, "--format", fmt, "-o", out + "." + fmt],
                           capture_output=True, text=True, env=ENV)
        C.check(r.returncode == 0, f"reserved: report {fmt}: {r.stderr}")
    head = open(out + ".csv").readline().strip()
    C.check(head == "trial_id,status,val_loss,resource,lr,device,error,metric,param:status",
            f"reserved: csv header {head}")


def list_values():
    """Lists, objects and null as values (W&B passes them through): str() in ${args}, JSON in
    ${args_json} and in W&B's config file, their JSON in the results; chosen like any value."""
    p = sweep("lists", {"program": "standin.py", "method": "grid", "RUN": 5,
                        "command": ["${env}", "${interpreter}", "${program}", "${args}",
                                    "${args_json}"],
                        "metric": {"name": "val_loss", "goal": "minimize"},
                        "parameters": {"net_arch": {"values": [[32, 32], [400, 300]]},
                                       "extra": {"value": None},
                                       "cfg": {"value": {"a": 1.5, "b": ["x", "y'z"]}},
                                       "mode": {"value": "env"}}})
    out, pr = run(p)
    t, _, _ = trials(out)
    C.check(len(t) == 2 and status(t) == ["completed"] * 2, f"lists: {status(t)}")
    C.check("RUN: unknown key, ignored" in pr.stderr, f"lists: run warns: {pr.stderr}")
    with h5py.File(out) as f:
        w = [x.decode() if isinstance(x, bytes) else x for x in f.attrs.get("warnings", [])]
    C.check(any("RUN: unknown key, ignored" in x for x in w), f"lists: warnings kept: {w}")
    C.check([x.decode() for x in t["net_arch"]] == ["[32,32]", "[400,300]"] and
            t["extra"][0].decode() == "null", f"lists: columns {t['net_arch']} {t['extra']}")
    argv = json.load(open(out + ".logs/trial-1/argv.json"))
    C.check(argv[:4] == ["--net_arch=[400, 300]", "--extra=None",
                         "--cfg={'a': 1.5, 'b': ['x', \"y'z\"]}", "--mode=env"],
            f"lists: argv {argv}")
    want = {"net_arch": [400, 300], "extra": None, "cfg": {"a": 1.5, "b": ["x", "y'z"]},
            "mode": "env"}
    C.check(len(argv) == 5 and json.loads(argv[4]) == want, f"lists: args_json {argv}")
    # W&B's config file: {name: {value: v}}, each value's JSON text as ${args_json} has it
    e = json.load(open(f"{out}.logs/trial-1/env.json"))
    text = open(e["WANDB_SWEEP_PARAM_PATH"]).read().strip()
    C.check(json.loads(text) == {k: {"value": v} for k, v in want.items()} and
            '"cfg": {"value": {"a": 1.5, "b": ["x", "y\'z"]}}' in text,
            f"lists: W&B config file {text}")
    body = json.load(open(p))
    body["model"] = {"type": "gbdt"}
    with open(p, "w") as f:
        json.dump(body, f)
    r = subprocess.run([BIN, "validate", p], capture_output=True, text=True, env=ENV)
    C.check(r.returncode == 65 and "lists and null go to programs" in r.stderr,
            f"lists: a model's parameters are scalars: {r.stderr}")


def wandb_examples():
    src = os.path.join(DATA, "wandb-examples")
    d = os.path.join(W, "wandb-examples")
    shutil.copytree(src, d)
    for name, n, keys in (("sweep-bool", 8, "score"), ("sweep-cross-validation", 100, "val_accuracy"),
                          ("sweep-random-hyperband", 100, "val_loss"),
                          ("wandb_sweep", 100, "val_loss")):
        out, _ = run(os.path.join(d, name + ".json"))
        t, _, names = trials(out)
        s = status(t)
        C.check(len(t) == n and "failed" not in s, f"{name}: {len(t)} trials, {s}")
        C.check(keys in names, f"{name}: {names}")
        if name == "sweep-random-hyperband":
            C.check("pruned" in s, f"{name}: W&B's hyperband stopped nothing")
    # the files themselves, once this build reads YAML: the same trials as their JSON twins
    y = os.path.join(d, "sweep-bool.yaml")
    if subprocess.run([BIN, "validate", y], capture_output=True, env=ENV).returncode == 0:
        for name in ("sweep-bool", "sweep-cross-validation", "wandb_sweep"):
            shutil.copy(os.path.join(d, name + ".yaml"), os.path.join(d, name + "-y.yaml"))
            out, _ = run(os.path.join(d, name + "-y.yaml"))
            ty, _, _ = trials(out)
            tj, _, _ = trials(os.path.join(d, name + ".h5"))
            C.check(len(ty) == len(tj) and "failed" not in status(ty), f"{name}.yaml: {status(ty)}")
    else:
        print("wandb_examples: this build reads no YAML; ran the JSON twins only")


def distinct():
    """random search gives no two trials one configuration while the space has others"""
    body = {"program": "standin.py", "method": "random", "run_cap": 4, "seed": 3,
            "metric": {"name": "val_loss", "goal": "minimize"},
            "parameters": {"lr": {"values": [0.1, 0.2]}, "opt": {"values": ["adam", "sgd"]}},
            "execution": {"concurrency": 2}}
    out, _ = run(sweep("distinct4", body))
    t, _, _ = trials(out)
    got = {(float(a), b) for a, b in zip(t["lr"], t["opt"])}
    C.check(len(t) == 4 and len(got) == 4, f"distinct: 4 trials over 4 configurations: {got}")
    body["run_cap"] = 6
    out, _ = run(sweep("distinct6", body))
    t6, _, _ = trials(out)
    got6 = [(float(a), b) for a, b in zip(t6["lr"], t6["opt"])]
    C.check(len(set(got6[:4])) == 4 and len(t6) == 6, f"distinct: the first 4 of 6 cover the space: {got6}")
    C.check([(float(a), b) for a, b in zip(t6["lr"][:4], t6["opt"][:4])] == [(float(a), b) for a, b in zip(t["lr"], t["opt"])],
            "distinct: a larger run_cap keeps the first trials")
    out2, _ = run(sweep("distinct6b", body))
    t6b, _, _ = trials(out2)
    C.check(list(t6b["lr"]) == list(t6["lr"]) and list(t6b["opt"]) == list(t6["opt"]), "distinct: deterministic")


for test in (basic, run_cap, env_and_gpus, failures, wandb_shim, lambda: stopping("asha"),
             lambda: stopping("wandb"), kill_and_resume, tpe_resume, sigterm, languages, injection, validate,
             validate_wandb_forms, validate_missing, reserved_names, list_values, wandb_examples, distinct):
    t0 = time.time()
    test()
    print(f"{getattr(test, '__name__', '?')}: {time.time() - t0:.1f} s", flush=True)
C.finish()
