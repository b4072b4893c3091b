"""`report --html` in a real browser, and `report` of several files in every format.

A grid sweep and an ASHA sweep run (the ASHA one with `run --html`, whose page must carry the
refresh hint while the sweep runs and lose it at the end); their pages, and the page of both side
by side, open in headless Chromium. The test fails on any console message or script error (the
page also records errors into #bt-errors, which --dump-dom shows) and checks that the plots drew:
one parallel-coordinates line per trial, one learning curve per trial with history, rung bars, a
best-so-far line per sweep. A page with an injected error must be caught (the check checks). The
grid's results get provenance attributes and a /system table (as the run's --note/--tag and
machine metrics write them) when h5py is there, and the page must show them. SKIP (77) without
Chromium."""
import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from btutil import BIN, Checker, SRC, run, workdir  # noqa: E402

CHROME = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")
               if shutil.which(n)), None)
if not CHROME:
    print("SKIP: no chromium (Debian: apt-get install chromium)")
    sys.exit(77)

c = Checker("report_html")
d = workdir("report_html")
ex = os.path.join(SRC, "sweeps", "examples")
grid, asha = os.path.join(d, "grid.h5"), os.path.join(d, "asha.h5")
live = os.path.join(d, "asha.html")


def browse(page):
    """The DOM after the page's scripts ran, and Chromium's console lines."""
    p = subprocess.run([CHROME, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                        "--enable-logging=stderr", "--v=0", "--dump-dom",
                        "--user-data-dir=" + os.path.join(d, "chrome-profile"),
                        "file://" + os.path.abspath(page)],
                       capture_output=True, text=True, timeout=60)
    console = [l for l in p.stderr.splitlines() if ":CONSOLE" in l]
    return p.stdout, console


def page_errors(dom, console):
    m = re.search(r'<pre id="bt-errors"[^>]*>(.*?)</pre>', dom, re.S)
    errs = [m.group(1)] if m and m.group(1).strip() else []
    if 'data-drawn="yes"' not in dom:
        errs.append("the page's script did not finish drawing")
    return errs + console


def count(dom, pattern):
    return len(re.findall(pattern, dom))


# a grid sweep; an ASHA sweep with run --html, watched while it runs
run("run", os.path.join(ex, "boston-grid.json"), "--out", grid, "--fresh", "--quiet", check=0)
t0 = time.time()
proc = subprocess.Popen([BIN, "run", os.path.join(ex, "breast-cancer-asha.json"), "--out", asha,
                         "--fresh", "--quiet", "--html", live, "--checkpoint-every", "0.5"],
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
seen_refresh = False
while proc.poll() is None:
    try:
        with open(live) as f:
            seen_refresh = seen_refresh or '<meta http-equiv="refresh"' in f.read()
    except FileNotFoundError:
        pass
    time.sleep(0.05)
out, err = proc.communicate()
c.check(proc.returncode == 0, f"run --html: {proc.returncode}\n{err}")
if time.time() - t0 > 2.0:  # checkpoints came during the run: the page said it would reload
    c.check(seen_refresh, "the page written during the run has a refresh hint")
with open(live) as f:
    c.check('http-equiv="refresh"' not in f.read(), "the final page does not reload itself")
c.check(not [n for n in os.listdir(d) if ".tmp." in n], f"no temporary left: {os.listdir(d)}")


def trials(path):
    return json.loads(run("report", path, "--format", "json", check=0).stdout)


n_grid, n_asha = len(trials(grid)), len(trials(asha))
c.check(n_grid == 252 and n_asha == 200, f"{n_grid} grid and {n_asha} asha trials")

# provenance and machine metrics, written as the run's --note/--tag and /system write them
prov = False
try:
    import h5py
    import numpy as np
    with h5py.File(grid, "a") as f:
        if "system" in f:  # the run's own samples give way to known values
            del f["system"]
        f.attrs["note"] = "a <b>note</b> & friends"
        f.attrs["tags"] = "baseline,boston"
        f.attrs["git_commit"] = "0123456789abcdef"
        f.attrs["git_dirty"] = np.int8(1)
        t = np.arange(30, dtype=np.float64)
        sys_dt = np.dtype([("time", "f8"), ("cpu_percent", "f8"), ("rss_bytes", "i8"),
                           ("gpu0_util", "f8")])
        f.create_dataset("system", data=np.array(list(zip(t, t * 3 % 100, t * 1e6, t % 7)),
                                                 dtype=sys_dt))
    prov = True
except ImportError:
    print("note: no h5py; provenance not checked")

run("report", grid, "--html", os.path.join(d, "grid.html"), check=0)
if prov:  # /system with other columns, read as written (no browser needed)
    asha_sys = os.path.join(d, "asha_sys.h5")
    shutil.copy(asha, asha_sys)
    with h5py.File(asha_sys, "a") as f:
        if "system" in f:
            del f["system"]
        for k in ("note", "tags", "git_commit", "git_dirty"):
            if k in f.attrs:
                del f.attrs[k]
        f.create_dataset("system", data=np.array(
            list(zip(np.arange(5.0), [40.0, 41.0, 45.0, 50.0, 52.0])),
            dtype=np.dtype([("time", "f8"), ("gpu0_temp", "f8")])))
    run("report", asha_sys, "--html", os.path.join(d, "asha_sys.html"), check=0)
    with open(os.path.join(d, "asha_sys.html")) as f:
        m = re.search(r'<script id="bt-data" type="application/json">(.*?)</script>', f.read(), re.S)
    data = json.loads(m.group(1))["sweeps"][0]
    c.check(data["system"] == {"cols": ["time", "gpu0_temp"],
                               "data": [[0, 1, 2, 3, 4], [40, 41, 45, 50, 52]]}, data["system"])
    c.check(not {"note", "tags", "git_commit"} & set(data["attrs"]) and
            len(data["trials"]["id"]) == n_asha, f"no note, tags or commit: none shown {data['attrs']}")
run("report", grid, asha, "--format", "html", "-o", os.path.join(d, "both.html"), check=0)

# the grid's page, used as a person would: a brush dragged on the first axis, the log-x box ticked
ACT = """<script>(function () {
  var hit = document.querySelector('svg.pc rect[style*="crosshair"]'), b = hit.getBoundingClientRect();
  function ev(type, y) {
    (type === 'mousedown' ? hit : window).dispatchEvent(new MouseEvent(type, {bubbles: true,
      clientX: b.left + b.width / 2, clientY: y}));
  }
  ev('mousedown', b.top + 2); ev('mousemove', b.top + b.height / 3); ev('mouseup', b.top + b.height / 3);
  document.body.setAttribute('data-out', document.querySelectorAll('.pc-line.out').length);
  document.querySelector('.controls input[type=checkbox]').click();
})();</script></body>"""
with open(os.path.join(d, "grid.html")) as f:
    acted = f.read().replace("</body>", ACT)
with open(os.path.join(d, "grid_acted.html"), "w") as f:
    f.write(acted)
dom, console = browse(os.path.join(d, "grid_acted.html"))
m = re.search(r'data-out="(\d+)"', dom)
out_n = int(m.group(1)) if m else -1
c.check(0 < out_n < n_grid, f"brushing the first axis filters some lines out ({out_n} of {n_grid})")
c.check(not page_errors(dom, console), f"grid page errors: {page_errors(dom, console)}")
c.check(count(dom, r'<polyline class="pc-line') == n_grid,
        f"grid: {count(dom, r'<polyline class=.pc-line')} lines for {n_grid} trials")
c.check(count(dom, r'<path class="curve') == n_grid, "grid: one learning curve per trial")
c.check("batchtune export " in dom and "--trial " in dom, "the best trial's export command")
c.check(count(dom, r'<circle ') >= 4 * n_grid, "grid: metric against each of 4 parameters")
if prov:
    c.check("a &lt;b&gt;note&lt;/b&gt; &amp; friends" in dom, "the note, as text")
    c.check("baseline,boston" in dom and "0123456789abcdef (dirty)" in dom, "tags and commit")
    c.check(count(dom, r'class="sys-line"') == 3, "one machine-metric plot per /system column")

dom, console = browse(live)
c.check(not page_errors(dom, console), f"asha page errors: {page_errors(dom, console)}")
c.check(count(dom, r'<polyline class="pc-line') == n_asha, "asha: one line per trial")
c.check(count(dom, r'<path class="curve faded"') + count(dom, r'<path class="curve"') == n_asha,
        "asha: one curve per trial")
c.check(count(dom, r'<path class="curve faded"') >= n_asha // 2, "pruned trials faded")
c.check(count(dom, r'class="bar prom"') == 4, "asha: four rungs drawn")

dom, console = browse(os.path.join(d, "both.html"))
c.check(not page_errors(dom, console), f"side-by-side page errors: {page_errors(dom, console)}")
c.check(count(dom, r'<polyline class="pc-line') == n_grid + n_asha, "both sweeps' lines")
c.check(count(dom, r'class="bsf-line"') == 2, "a best-so-far line per sweep")

# the check checks: an error in the page is caught
with open(os.path.join(d, "grid.html")) as f:
    bad = f.read().replace("</body>", "<script>no_such_function();</script></body>")
with open(os.path.join(d, "bad.html"), "w") as f:
    f.write(bad)
dom, console = browse(os.path.join(d, "bad.html"))
c.check(any("no_such_function" in e for e in page_errors(dom, console)),
        f"an injected error is seen: {page_errors(dom, console)}")

# several files in every text format: a sweep column, a column per metric name
p = run("report", asha, grid, "--format", "csv", check=0)
rows = list(csv.DictReader(io.StringIO(p.stdout)))
head = p.stdout.splitlines()[0].split(",")
c.check(head[:6] == ["sweep", "trial_id", "status", "logloss", "mse", "resource"], head)
c.check(len(rows) == n_grid + n_asha, f"{len(rows)} rows")
c.check(all((r["logloss"] == "") != (r["mse"] == "") for r in rows), "one metric per row")
c.check({r["sweep"] for r in rows} == {asha, grid}, "sweep names the file")
c.check(all(r["num_round"] == "" for r in rows if r["sweep"] == asha) and
        all(r["num_round"] != "" for r in rows if r["sweep"] == grid), "params joined by name")
j = json.loads(run("report", asha, grid, "--format", "json", "--top", "3", check=0).stdout)
c.check(len(j) == 6 and j[0]["sweep"] == asha and j[0]["mse"] is None and j[3]["logloss"] is None,
        "json: top 3 of each sweep, null for the other's metric")
t = run("report", asha, grid, "--top", "2", check=0).stdout.splitlines()
c.check(t[0].split()[:5] == ["sweep", "trial_id", "status", "logloss", "mse"] and len(t) == 6, t)
# two sweeps of one metric are ranked together
grid2 = os.path.join(d, "grid2.h5")
run("run", os.path.join(ex, "boston-grid.json"), "--out", grid2, "--fresh", "--quiet",
    "--run-cap", "5", check=0)
j = json.loads(run("report", grid2, grid, "--format", "json", check=0).stdout)
c.check(len(j) == n_grid + 5 and all(a["mse"] <= b["mse"] for a, b in zip(j, j[1:])),
        "one ranking by mse over both")
# a link at the page's name is replaced by the page, never written through
target, link = os.path.join(d, "target.txt"), os.path.join(d, "link.html")
with open(target, "w") as f:
    f.write("keep me")
if os.path.lexists(link):
    os.remove(link)
os.symlink(target, link)
run("report", grid, "--html", link, check=0)
c.check(open(target).read() == "keep me" and not os.path.islink(link), "the link is replaced")
p = run("report", grid, "--format", "html", check=2)
c.check("-o" in p.stderr, p.stderr)
c.finish()
