"""batchtune's offline stand-in for the `wandb` package (program mode, docs/program-mode.md).

batchtune puts this folder first on a trial's PYTHONPATH (execution.wandb: shim), so a training
script written for W&B sweeps runs unchanged: wandb.init() returns a run whose config holds the
trial's parameters, wandb.log() prints one JSON line on stdout -- batchtune's report --, and the
rest of the API (watch, save, Image, Table, Artifact, define_metric, ...) does nothing, noted once
on stderr. Pure standard library; nothing leaves the machine.
"""
import json
import math
import os
import sys

__version__ = "0.0.0+batchtune"

_noted = set()


def _note(name):
    if name not in _noted:
        _noted.add(name)
        sys.stderr.write("[batchtune wandb shim] wandb.%s does nothing under batchtune\n" % name)
        sys.stderr.flush()


class _NoOp(object):
    """Stands in for anything the shim does not implement: calling it, reading an attribute,
    using it as a context manager or an iterable all work and do nothing."""

    def __init__(self, name="object", *args, **kwargs):
        self._name = name

    def __call__(self, *args, **kwargs):
        return _NoOp(self._name)

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return _NoOp(self._name + "." + name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def __iter__(self):
        return iter(())

    def __bool__(self):
        return False


def _noop_factory(name):
    def make(*args, **kwargs):
        _note(name)
        return _NoOp(name)

    make.__name__ = name
    return make


for _name in ("Image", "Table", "Artifact", "Histogram", "Video", "Audio", "Html", "Object3D",
              "Molecule", "Plotly", "Graph", "Settings", "Api"):
    globals()[_name] = _noop_factory(_name)


def _trial_params():
    text = os.environ.get("BATCHTUNE_PARAMS")
    if not text:
        return {}
    try:
        return json.loads(text)
    except ValueError:
        return {}


class Config(object):
    """wandb.config: attribute and item access, dict(config), update, setdefaults."""

    def __init__(self):
        object.__setattr__(self, "_items", {})

    def __getattr__(self, name):
        items = object.__getattribute__(self, "_items")
        if name in items:
            return items[name]
        raise AttributeError("wandb.config has no key %r" % name)

    def __setattr__(self, name, value):
        self._items[name] = value

    def __getitem__(self, key):
        return self._items[key]

    def __setitem__(self, key, value):
        self._items[key] = value

    def __delitem__(self, key):
        del self._items[key]

    def __contains__(self, key):
        return key in self._items

    def __iter__(self):
        return iter(self._items)

    def __len__(self):
        return len(self._items)

    def __repr__(self):
        return repr(self._items)

    def keys(self):
        return self._items.keys()

    def values(self):
        return self._items.values()

    def items(self):
        return self._items.items()

    def get(self, key, default=None):
        return self._items.get(key, default)

    def as_dict(self):
        return dict(self._items)

    def _as_dict(self):
        return dict(self._items)

    def update(self, d=None, allow_val_change=None, **kwargs):
        if d is not None:
            if hasattr(d, "__dict__") and not hasattr(d, "keys"):
                d = vars(d)  # an argparse.Namespace
            for k in d.keys():
                self._items[k] = d[k]
        self._items.update(kwargs)

    def setdefaults(self, d):
        for k in d:
            self._items.setdefault(k, d[k])

    def setdefault(self, key, value=None):
        return self._items.setdefault(key, value)

    def persist(self):
        pass


def _jsonable(v):
    """What a report can hold: numbers, bools, nested dicts of them; NaN and inf as null."""
    if isinstance(v, bool):
        return v
    if isinstance(v, (int, float)):
        return v if math.isfinite(v) else None
    if isinstance(v, dict):
        out = {}
        for k, x in v.items():
            j = _jsonable(x)
            if j is not _SKIP:
                out[str(k)] = j
        return out
    item = getattr(v, "item", None)  # numpy and torch scalars
    if callable(item):
        try:
            return _jsonable(item())
        except (TypeError, ValueError, RuntimeError):
            return _SKIP
    return _SKIP


_SKIP = object()


def _emit(row):
    line = json.dumps(row, separators=(",", ":")) + "\n"
    data = line.encode()
    while data:
        n = os.write(1, data)  # fd 1 itself: a script's own sys.stdout tricks cannot hide it
        data = data[n:]


class Summary(dict):
    def update(self, d=None, **kwargs):
        dict.update(self, d or {}, **kwargs)


class Run(object):
    def __init__(self, project=None, name=None):
        self.config = config
        self.summary = Summary()
        self.id = os.environ.get("WANDB_RUN_ID", "batchtune-run")
        self.name = name or self.id
        self.sweep_id = os.environ.get("WANDB_SWEEP_ID")
        self.project = project or os.environ.get("WANDB_PROJECT", "batchtune")
        self.entity = os.environ.get("WANDB_ENTITY")
        self.dir = os.environ.get("BATCHTUNE_OUT_DIR", os.getcwd())
        self.step = 0
        self._row = {}
        self._logged = {}

    def log(self, data, step=None, commit=None, sync=None):
        if step is not None and step > self.step and self._row:
            self._commit()
        if step is not None and step >= self.step:
            self.step = step
        for k, v in dict(data).items():
            j = _jsonable(v)
            if j is _SKIP:
                _note("log of a %s" % type(v).__name__)
                continue
            self._row[str(k)] = j
        if commit is None or commit:
            if commit is None and step is not None:
                return  # W&B: an explicit step commits when a later step arrives
            self._commit()

    def _commit(self):
        if not self._row:
            return
        row = dict(self._row)
        row["_step"] = self.step
        for k, v in row.items():
            self._logged[k] = v
            self.summary[k] = v
        _emit(row)
        self._row = {}
        self.step += 1

    def finish(self, exit_code=None, quiet=None):
        global run
        self._commit()
        extra = {}
        for k, v in self.summary.items():
            j = _jsonable(v)
            if j is not _SKIP and self._logged.get(k, _SKIP) != j:
                extra[k] = j
        if extra:  # a metric set only in the summary still reaches batchtune
            _emit(extra)
            self._logged.update(extra)
        try:
            with open(os.path.join(self.dir, "wandb-summary.json"), "w") as f:
                json.dump({k: v for k, v in self._logged.items()}, f)
        except OSError:
            pass
        if run is self:
            run = None

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        self.finish(exit_code=1 if exc_type else 0)
        return False

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        _note("run." + name)
        return _NoOp("run." + name)

    # commonly called methods that do nothing offline
    def watch(self, *a, **k):
        _note("watch")

    def save(self, *a, **k):
        _note("save")

    def log_artifact(self, *a, **k):
        _note("log_artifact")

    def use_artifact(self, *a, **k):
        _note("use_artifact")
        return _NoOp("artifact")

    def define_metric(self, *a, **k):
        _note("define_metric")
        return _NoOp("metric")

    def alert(self, *a, **k):
        _note("alert")


config = Config()
run = None
summary = Summary()


def init(project=None, entity=None, config=None, name=None, reinit=None, **kwargs):
    """Starts the trial's run: the sweep's parameters override what config gives, as in W&B."""
    global run, summary
    if run is not None and not reinit:
        return run
    cfg = globals()["config"]
    if config is not None:
        if isinstance(config, str):
            _note("init(config=<file>)")
        else:
            cfg.update(config)
    cfg.update(_trial_params())
    run = Run(project=project, name=name)
    summary = run.summary
    return run


def log(data, step=None, commit=None, sync=None):
    if run is None:
        init()
    run.log(data, step=step, commit=commit)


def finish(exit_code=None, quiet=None):
    if run is not None:
        run.finish(exit_code=exit_code)


def agent(sweep_id=None, function=None, entity=None, project=None, count=None):
    """batchtune is the agent: the trial's function runs once, in this process."""
    if function is not None:
        function()
    if run is not None:
        run.finish()


def sweep(sweep=None, entity=None, project=None, prior_runs=None):
    """batchtune runs the sweep from its own file; this returns its id."""
    _note("sweep")
    return os.environ.get("WANDB_SWEEP_ID", "batchtune")


def login(*args, **kwargs):
    return True


def setup(*args, **kwargs):
    return None


def teardown(*args, **kwargs):
    return None


def __getattr__(name):  # PEP 562: watch, save, define_metric, plot, ... do nothing
    if name.startswith("__"):
        raise AttributeError(name)
    return _noop_factory(name)


import atexit  # noqa: E402

atexit.register(finish)
