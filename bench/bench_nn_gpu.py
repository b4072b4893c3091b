#!/usr/bin/env python3
"""64 CIFAR-style ResNet-20 trials (batch 128) on one GPU, three ways, side by side in one run:
(a) PyTorch training one trial at a time, (b) PyTorch torch.func (functional_call + vmap over the
trials' stacked parameters and buffers) training all of them in each step, (c) batchtune training
the equivalent sweep (bench/gpu/resnet20-64.json) packed. Every side trains the same network on
the same normalized images with the same optimizer, and is timed the same way (see bench/README.md).
Reports aggregate training images/s and the ratios batchtune/(a) (target >= 5) and batchtune/(b)
(target >= 1.5); writes JSON with the device, date, commit and command. Needs torch and numpy, no
network. `--device cpu --quick` is a smoke run on any machine (tests/py/test_bench_nn_gpu.py)."""
import argparse
import copy
import datetime
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
SIDES = ("pytorch_sequential", "pytorch_vmap", "batchtune")
TARGETS = {"pytorch_sequential": 5.0, "pytorch_vmap": 1.5}


def default_batchtune():
    for b in ("build-cuda", "build"):
        p = os.path.join(REPO, b, "batchtune")
        if os.access(p, os.X_OK):
            return p
    return os.path.join(REPO, "build-cuda", "batchtune")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--device", default="cuda", help="cuda, cuda:N or cpu (default cuda); every "
                   "side trains there (batchtune gets --device too)")
    p.add_argument("--batchtune", default=default_batchtune(),
                   help="batchtune binary (default REPO/build-cuda/batchtune, else REPO/build/)")
    p.add_argument("--sweep", default=os.path.join(HERE, "gpu", "resnet20-64.json"))
    p.add_argument("--trials", type=int, default=64, help="trials of the 8 x 8 grid (default 64)")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--depth", type=int, default=20, help="6n+2: 8, 14, 20, 32")
    p.add_argument("--width", type=int, default=16, help="base width (16 = ResNet-20)")
    p.add_argument("--train-rows", "--images", dest="train_rows", type=int, default=10240,
                   help="training images per epoch (default 10240 = 80 batches of 128)")
    p.add_argument("--valid-rows", type=int, default=1024)
    p.add_argument("--hw", type=int, default=32, help="synthetic image height = width (default 32)")
    p.add_argument("--epochs", type=int, default=2, help="epochs each trial trains (default 2)")
    p.add_argument("--seq-trials", type=int, default=8,
                   help="trials (a) trains one after another; its images/s does not depend on "
                        "the count (default 8)")
    p.add_argument("--data", default="synthetic",
                   help="'synthetic' (3 x hw x hw, default) or a Fashion-MNIST folder holding "
                        "train-images-idx3-ubyte(.gz) etc. (1x28x28)")
    p.add_argument("--skip", default="", help="comma list of sides to skip: seq,vmap,batchtune")
    p.add_argument("--math", default="tf32", choices=["tf32", "fp32"],
                   help="matmul/conv precision on every side (default tf32, batchtune's default)")
    p.add_argument("--timeout", type=float, default=600,
                   help="seconds the batchtune process may take (default 600)")
    p.add_argument("--out-json", default=None, help="write the JSON here (exact path)")
    p.add_argument("--out-dir", default=os.path.join(HERE, "results"),
                   help="else write DATE-{gpu,cpu}-DEVICE-resnet.json here (default bench/results)")
    p.add_argument("--workdir", default=None, help="keep data and sweep here (default: temp)")
    p.add_argument("--quick", action="store_true", help="smoke run: 4 trials, 1024 images, "
                   "256 valid, 1 epoch, 2 sequential trials, depth 8")
    a = p.parse_args(argv)
    if a.quick:
        a.trials, a.train_rows, a.valid_rows, a.epochs, a.seq_trials, a.depth = 4, 1024, 256, 1, 2, 8
    if (a.depth - 2) % 6 or a.depth < 8:
        p.error("--depth must be 6n + 2 (8, 14, 20, 32, ...)")
    if not 1 <= a.trials <= 64:
        p.error("--trials must be in 1..64 (the sweep's 8 x 8 grid)")
    if a.train_rows < 1 or a.valid_rows < 1 or a.epochs < 1 or a.batch < 1 or a.hw < 4:
        p.error("--train-rows, --valid-rows, --epochs, --batch must be >= 1, --hw >= 4")
    a.seq_trials = max(1, min(a.seq_trials, a.trials))
    a.skip = set(x for x in a.skip.split(",") if x)
    bad = a.skip - {"seq", "vmap", "batchtune"}
    if bad:
        p.error(f"--skip: unknown side(s) {','.join(sorted(bad))}")
    return a


def log(msg):
    print(f"bench_nn_gpu: {msg}", file=sys.stderr, flush=True)


# ---- data ---------------------------------------------------------------------------------------

def synthetic(n, seed, hw, np):
    """3 x hw x hw uint8 images of 10 classes: a class-dependent colour blob on noise, learnable."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 10, n).astype(np.uint8)
    x = rng.integers(0, 96, (n, 3, hw, hw)).astype(np.int32)
    cy = ((y % 5) * 2 + 1) * hw / 10.0
    cx = ((y // 5) * 2 + 1) * hw / 4.0
    yy, xx = np.mgrid[0:hw, 0:hw]
    blob = ((yy[None] - cy[:, None, None]) ** 2 + (xx[None] - cx[:, None, None]) ** 2) < (hw / 6.0) ** 2
    x[np.arange(n), y % 3] += 150 * blob
    return np.clip(x, 0, 255).astype(np.uint8), y


def read_idx(path, np):
    import gzip
    op = gzip.open if path.endswith(".gz") else open
    with op(path, "rb") as f:
        data = f.read()
    magic = int.from_bytes(data[0:4], "big")
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(magic & 0xFF)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * len(dims)).reshape(dims)


def find(folder, stem):
    for name in (stem, stem + ".gz"):
        if os.path.exists(os.path.join(folder, name)):
            return os.path.join(folder, name)
    raise SystemExit(f"bench_nn_gpu: {stem}(.gz) not found in {folder}")


def make_data(a, work, np):
    """Returns (x_train uint8 NCHW, y_train, x_valid, y_valid, dataset block for batchtune). The
    exact images every side trains on are written as 4-D uint8 .npy files for batchtune."""
    if a.data == "synthetic":
        xt, yt = synthetic(a.train_rows, 1, a.hw, np)
        xv, yv = synthetic(a.valid_rows, 2, a.hw, np)
    else:
        d = os.path.abspath(a.data)
        files = [find(d, s) for s in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                      "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")]
        xt, yt, xv, yv = (read_idx(f, np) for f in files)
        xt, yt = xt[:a.train_rows, None], yt[:a.train_rows]
        xv, yv = xv[:a.valid_rows, None], yv[:a.valid_rows]
        a.train_rows, a.valid_rows = len(yt), len(yv)
    ds = {"format": "npy"}
    for key, arr in (("train", xt), ("train_labels", yt), ("valid", xv), ("valid_labels", yv)):
        ds[key] = os.path.join(work, key + ".npy")
        np.save(ds[key], np.ascontiguousarray(arr))
    return xt, yt, xv, yv, ds


def to_device(torch, np, xt8, yt8, xv8, yv8, dev):
    """Float images on the device, each channel normalized with the train set's mean and
    population std (batchtune's normalization, docs/nn.md); int64 labels."""
    xt = xt8.astype(np.float32)
    mean = xt.astype(np.float64).mean(axis=(0, 2, 3))
    std = xt.astype(np.float64).std(axis=(0, 2, 3))
    std[std == 0] = 1.0
    m = mean.astype(np.float32).reshape(1, -1, 1, 1)
    s = (1.0 / std).astype(np.float32).reshape(1, -1, 1, 1)
    f = lambda x8: torch.from_numpy((x8.astype(np.float32) - m) * s).to(dev)
    g = lambda y8: torch.from_numpy(y8.astype(np.int64)).to(dev)
    return f(xt8), g(yt8), f(xv8), g(yv8)


# ---- the model (PyTorch) -----------------------------------------------------------------------

def resnet(torch, depth, width, channels, classes=10):
    """CIFAR ResNet (He et al. 2016, section 4.2) as batchtune's resnet family builds it
    (docs/nn.md): 3x3 stem conv + bn + relu, 3 stages of (depth - 2) / 6 basic blocks, widths w,
    2w, 4w, stride 2 at stages 2 and 3 with a 1x1 strided convolution + batch norm shortcut
    (option B), global average pooling, one linear with bias. Convolutions have no bias and are
    He-uniform initialized (U(+-sqrt(6 / fan_in))); the linear keeps PyTorch's default."""
    nn = torch.nn

    class Block(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.c1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.b1 = nn.BatchNorm2d(cout)
            self.c2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.b2 = nn.BatchNorm2d(cout)
            self.sc = None
            if stride != 1 or cin != cout:
                self.sc = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                        nn.BatchNorm2d(cout))

        def forward(self, x):
            o = torch.relu(self.b1(self.c1(x)))
            o = self.b2(self.c2(o))
            return torch.relu(o + (x if self.sc is None else self.sc(x)))

    n = (depth - 2) // 6
    layers = [nn.Conv2d(channels, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU()]
    cin = width
    for stage, w in enumerate((width, 2 * width, 4 * width)):
        for i in range(n):
            layers.append(Block(cin, w, 2 if stage > 0 and i == 0 else 1))
            cin = w
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, classes)]
    model = nn.Sequential(*layers)
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_uniform_(m.weight, nonlinearity="relu")
    return model


def count_params(model):
    return sum(p.numel() for p in model.parameters())


def grid(trials):
    """The sweep's lr x weight_decay grid, first `trials` configurations in grid order (lr
    outer, weight decay inner: the order of batchtune's grid, last parameter fastest)."""
    lrs = [0.01, 0.02, 0.03, 0.05, 0.07, 0.1, 0.15, 0.2]
    wds = [0.0, 1e-5, 3e-5, 1e-4, 2e-4, 3e-4, 5e-4, 1e-3]
    return [(lr, wd) for lr in lrs for wd in wds][:trials]


def spans(n, B):
    """Mini-batches of an epoch as (start, end): the last one is short, never dropped (as in
    batchtune)."""
    return [(s, min(s + B, n)) for s in range(0, n, B)]


def warm_spans(n, B):
    """The warm-up's mini-batches: two full ones and the short last one if there is one, so
    every shape the timed run sees is compiled / autotuned (cudnn.benchmark) beforehand."""
    sp = spans(n, B)
    return sp[:2] + ([sp[-1]] if sp[-1][1] - sp[-1][0] != sp[0][1] - sp[0][0] else [])


class Clock:
    def __init__(self, torch, dev):
        self.torch, self.dev = torch, dev

    def sync(self):
        if self.dev.type == "cuda":
            self.torch.cuda.synchronize(self.dev)

    def time(self, fn):
        self.sync()
        t0 = time.perf_counter()
        out = fn()
        self.sync()
        return time.perf_counter() - t0, out


def epoch_perm(torch, n, trial, epoch, dev):
    """Trial `trial`'s row order in `epoch`, the same on both PyTorch sides (so trial t of the
    vmap side can be checked against trial t trained alone)."""
    g = torch.Generator().manual_seed(1_000_003 * trial + epoch)
    return torch.randperm(n, generator=g).to(dev)


def loss_summary(first, last, acc):
    """first / last: per-trial mean training loss of the first and last few steps; acc: per-trial
    validation accuracy after training."""
    return {"loss_first_steps_mean": sum(first) / len(first),
            "loss_last_steps_mean": sum(last) / len(last),
            "trials_loss_decreased": sum(l < f for f, l in zip(first, last)),
            "valid_accuracy_mean": sum(acc) / len(acc), "valid_accuracy_max": max(acc),
            "valid_accuracy_min": min(acc)}


def first_last(losses, k):
    """losses: steps x trials; the mean of the first k and of the last k steps, per trial."""
    k = max(1, min(k, losses.shape[0] // 2))
    return losses[:k].mean(0).tolist(), losses[-k:].mean(0).tolist()


def run_sequential(a, torch, dev, data, clock):
    """(a) one trial at a time: a plain training loop per trial (torch.optim.SGD, momentum 0.9),
    each trial with its own model, optimizer and shuffle, then one pass over the validation
    images in eval mode (batch norm on running statistics)."""
    xt, yt, xv, yv = data
    n, B = xt.shape[0], a.batch
    cfgs = grid(a.trials)[:a.seq_trials]
    F = torch.nn.functional

    def train(t, cfg, epochs, plan):
        torch.manual_seed(t)
        model = resnet(torch, a.depth, a.width, xt.shape[1]).to(dev)
        opt = torch.optim.SGD(model.parameters(), lr=cfg[0], momentum=0.9, weight_decay=cfg[1])
        model.train()
        losses = []
        for e in range(epochs):
            perm = epoch_perm(torch, n, t, e, dev)
            for s0, s1 in plan:
                idx = perm[s0:s1]
                opt.zero_grad(set_to_none=True)
                loss = F.cross_entropy(model(xt[idx]), yt[idx])
                loss.backward()
                opt.step()
                losses.append(loss.detach())
        model.eval()
        with torch.no_grad():
            correct = sum((model(xv[s0:s1]).argmax(1) == yv[s0:s1]).sum()
                          for s0, s1 in spans(xv.shape[0], B))
        return torch.stack(losses), correct

    warm, _ = clock.time(lambda: train(0, cfgs[0], 1, warm_spans(n, B)))
    secs, outs = clock.time(lambda: [train(t, c, a.epochs, spans(n, B))
                                     for t, c in enumerate(cfgs)])
    losses = torch.stack([o[0] for o in outs], 1).float().cpu()  # steps x trials
    acc = [float(o[1]) / xv.shape[0] for o in outs]
    first, last = first_last(losses, 3)
    images = len(cfgs) * a.epochs * n
    return dict({"trials": len(cfgs), "seconds": secs, "warmup_seconds": warm, "images": images,
                 "images_per_s": images / secs, "_losses": losses},
                **loss_summary(first, last, acc))


def run_vmap(a, torch, dev, data, clock):
    """(b) torch.func: the trials' parameters and batch-norm buffers stacked along a leading
    dimension (stack_module_state), one vmapped functional_call per step (every trial its own
    mini-batch, batch norm in train mode updating each trial's running statistics), gradients of
    the summed losses, SGD with momentum 0.9 and per-trial lr / weight decay as tensor ops (the
    update torch.optim.SGD makes), then one vmapped eval pass over the validation images. Where
    this torch cannot update running statistics under vmap, batch norm falls back to batch
    statistics (replace_all_batch_norm_modules_) and the result says so."""
    from torch.func import functional_call, stack_module_state, replace_all_batch_norm_modules_
    xt, yt, xv, yv = data
    T, n, B = a.trials, xt.shape[0], a.batch
    cfgs = grid(T)
    F = torch.nn.functional
    lr = torch.tensor([c[0] for c in cfgs], device=dev)
    wd = torch.tensor([c[1] for c in cfgs], device=dev)

    def train(epochs, plan, running):
        models = []
        for t in range(T):
            torch.manual_seed(t)
            models.append(resnet(torch, a.depth, a.width, xt.shape[1]).to(dev))
        if not running:
            for m in models:
                replace_all_batch_norm_modules_(m)
        params, buffers = stack_module_state(models)
        params = {k: v.detach() for k, v in params.items()}
        base = copy.deepcopy(models[0]).to("meta")
        del models
        names = list(params.keys())
        mom = {k: torch.zeros_like(v) for k, v in params.items()}

        def loss_one(p, b, x, y):
            return F.cross_entropy(functional_call(base, (p, b), (x,)), y)

        def logits_one(p, b, x):
            return functional_call(base, (p, b), (x,))

        fwd_bwd = torch.vmap(loss_one, in_dims=(0, 0, 0, 0))
        evaluate = torch.vmap(logits_one, in_dims=(0, 0, None))  # every trial the same images
        base.train()
        losses = []
        for e in range(epochs):
            perms = torch.stack([epoch_perm(torch, n, t, e, dev) for t in range(T)])
            for s0, s1 in plan:
                idx = perms[:, s0:s1]  # T x b
                ps = {k: params[k].requires_grad_(True) for k in names}
                loss = fwd_bwd(ps, buffers, xt[idx], yt[idx])  # (T,)
                grads = torch.autograd.grad(loss.sum(), [ps[k] for k in names])
                with torch.no_grad():
                    for k, g in zip(names, grads):
                        p = params[k]
                        p.requires_grad_(False)
                        shape = (-1,) + (1,) * (g.dim() - 1)
                        d = g + wd.view(shape) * p
                        mom[k].mul_(0.9).add_(d)  # mom starts at 0: the first step's buf is d
                        p.sub_(lr.view(shape) * mom[k])
                losses.append(loss.detach())
        base.eval()
        with torch.no_grad():
            correct = sum((evaluate(params, buffers, xv[s0:s1]).argmax(-1) == yv[s0:s1]).sum(1)
                          for s0, s1 in spans(xv.shape[0], B))
        return torch.stack(losses), correct

    running = True
    try:
        warm, _ = clock.time(lambda: train(1, warm_spans(n, B), True))
    except Exception as e:  # noqa: BLE001 -- an older torch without batched running stats
        if "out of memory" in str(e).lower():
            raise
        log(f"    vmap with running statistics failed ({type(e).__name__}: {e}); "
            "batch norm on batch statistics")
        running = False
        warm, _ = clock.time(lambda: train(1, warm_spans(n, B), False))
    secs, (losses, correct) = clock.time(lambda: train(a.epochs, spans(n, B), running))
    losses = losses.float().cpu()  # steps x trials
    acc = [float(c) / xv.shape[0] for c in correct.cpu()]
    first, last = first_last(losses, 3)
    images = T * a.epochs * n
    return dict({"trials": T, "seconds": secs, "warmup_seconds": warm, "images": images,
                 "images_per_s": images / secs, "bn_running_stats": running, "_losses": losses},
                **loss_summary(first, last, acc))


# ---- batchtune ---------------------------------------------------------------------------------

def run_batchtune(a, work, dataset):
    """(c) the sweep with its dataset block pointed at the same images and its model at the same
    shape: `batchtune bench SWEEP --json --device DEV --trials K`. Its `packed.train_seconds` is
    timed inside the process: pack creation, slot starts, every step, one evaluation of the
    validation metric per trial, freeing; not start-up and data loading (`setup_seconds`)."""
    if not os.access(a.batchtune, os.X_OK):
        return {"error": f"batchtune binary not found: {a.batchtune}"}
    with open(a.sweep) as f:
        sweep = json.load(f)
    sweep["dataset"] = dataset
    sweep["model"].update({"depth": a.depth, "width": a.width, "batch_size": a.batch,
                           "epochs": a.epochs, "optimizer": "sgd", "momentum": 0.9})
    sweep["parameters"] = {"lr": {"values": sorted({c[0] for c in grid(64)})},
                           "weight_decay": {"values": sorted({c[1] for c in grid(64)})}}
    sweep.setdefault("execution", {})["device"] = a.device
    path = os.path.join(work, "resnet-sweep.json")
    with open(path, "w") as f:
        json.dump(sweep, f, indent=1)
    v = subprocess.run([a.batchtune, "validate", path], capture_output=True, text=True)
    if v.returncode != 0:
        msg = (v.stderr or v.stdout).strip()
        if "unknown model type 'resnet'" in msg:
            return {"error": "batchtune: resnet family not available", "detail": msg}
        return {"error": "batchtune validate failed", "detail": msg}
    env = dict(os.environ, BT_NN_MATH=a.math)
    # the nn GPU packs are experimental (offered with --gpu-packs all) until verified on a GPU
    cmd = [a.batchtune, "bench", path, "--json", "--device", a.device, "--gpu-packs", "all",
           "--trials", str(a.trials)]
    base = {"command": " ".join(cmd), "BT_NN_MATH": a.math}
    t0 = time.perf_counter()
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=a.timeout)
    except subprocess.TimeoutExpired:
        return dict(base, error=f"batchtune bench timed out after {a.timeout:.0f} s")
    wall = time.perf_counter() - t0
    if r.returncode != 0:
        if "has no CUDA pack" in r.stderr or "GPU pack is experimental" in r.stderr:
            return dict(base, error="batchtune: resnet family has no CUDA pack in this build",
                        detail=r.stderr.strip())
        return dict(base, error=f"batchtune bench exited {r.returncode}", detail=r.stderr.strip())
    try:
        j = json.loads(r.stdout)
    except ValueError:
        return dict(base, error="batchtune bench printed no JSON", detail=r.stdout[-2000:])
    on = (j.get("device") or {}).get("trained_on") or ""
    want = "cpu" if a.device == "cpu" else "cuda"
    if not on.startswith(want):  # on a GPU: the resnet CUDA pack (models/nn/cuda/resnet_pack.c)
        return dict(base, error=f"batchtune bench trained on {on or '?'}, not on {want}",
                    detail=(j.get("device") or {}).get("reason"), bench=j)
    secs = j["packed"]["train_seconds"]
    images = j["trial_rounds"] * j["rows"]  # trials x epochs x train rows (no batch dropped)
    if images != a.trials * a.epochs * a.train_rows:
        return dict(base, error=f"batchtune trained {images} images, expected "
                    f"{a.trials * a.epochs * a.train_rows}", bench=j)
    return dict(base, trials=j["trials"], seconds=secs, images=images, images_per_s=images / secs,
                trained_on=on, setup_seconds=j.get("setup_seconds"), process_seconds=wall,
                failed_runs=j["packed"].get("failed_runs"), bench=j)


# ---- main --------------------------------------------------------------------------------------

def git_commit():
    if os.environ.get("BT_GIT_COMMIT"):  # the GPU kit's (a bundle has no .git)
        return os.environ["BT_GIT_COMMIT"]
    try:
        c = subprocess.run(["git", "-C", REPO, "rev-parse", "HEAD"], capture_output=True,
                           text=True).stdout.strip()
        if not c:
            return os.environ.get("BT_GIT_COMMIT")
        dirty = subprocess.run(["git", "-C", REPO, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True).stdout.strip()
        return c + ("-dirty" if dirty else "")
    except OSError:
        return os.environ.get("BT_GIT_COMMIT")


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "cpu"


def slug(s):
    return re.sub(r"[^a-z0-9]+", "-", s.lower()).strip("-")[:40] or "unknown"


def main(argv=None):
    a = parse_args(argv)
    try:
        import numpy as np
        import torch
        import torch.func  # noqa: F401 -- torch 2.x
    except ImportError as e:
        log(f"needs torch 2.x and numpy: {e}")
        return 77  # what ctest reads as SKIP (tests/py/test_bench_nn_gpu.py)
    dev = torch.device(a.device)
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise SystemExit("bench_nn_gpu: no CUDA device visible to PyTorch (--device cpu for "
                             "a smoke run)")
        if dev.index is None:  # set_device and the properties want an index
            dev = torch.device("cuda", torch.cuda.current_device())
        torch.cuda.set_device(dev)
    elif dev.type != "cpu":
        raise SystemExit(f"bench_nn_gpu: --device {a.device}: cuda, cuda:N or cpu")
    torch.backends.cuda.matmul.allow_tf32 = a.math == "tf32"
    torch.backends.cudnn.allow_tf32 = a.math == "tf32"
    torch.backends.cudnn.benchmark = True
    clock = Clock(torch, dev)
    work = a.workdir or tempfile.mkdtemp(prefix="bench_nn_gpu_")
    os.makedirs(work, exist_ok=True)
    try:
        xt8, yt8, xv8, yv8, dataset = make_data(a, work, np)
        data = to_device(torch, np, xt8, yt8, xv8, yv8, dev)
        if dev.type == "cuda":
            p = torch.cuda.get_device_properties(dev)
            device = {"type": "cuda", "name": torch.cuda.get_device_name(dev),
                      "memory_bytes": p.total_memory, "cuda": torch.version.cuda,
                      "cudnn": torch.backends.cudnn.version()}
        else:
            device = {"type": "cpu", "name": cpu_name(), "cores": os.cpu_count(),
                      "torch_threads": torch.get_num_threads()}
        device.update({"torch": torch.__version__, "python": platform.python_version()})
        res = {"benchmark": "bench_nn_gpu",
               "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
               "commit": git_commit(), "host": socket.gethostname(),
               "command": " ".join([sys.executable, os.path.abspath(__file__)] +
                                   (sys.argv[1:] if argv is None else list(argv))),
               "device": device,
               "config": {"model": f"resnet{a.depth}", "depth": a.depth, "width": a.width,
                          "parameters": count_params(resnet(torch, a.depth, a.width, xt8.shape[1])),
                          "batch": a.batch, "trials": a.trials, "seq_trials": a.seq_trials,
                          "epochs": a.epochs, "train_rows": a.train_rows,
                          "valid_rows": a.valid_rows, "image": list(xt8.shape[1:]),
                          "data": a.data, "math": a.math,
                          "optimizer": "sgd momentum 0.9 (weight decay on every parameter), "
                                       "constant lr; grid over lr x weight_decay; no augmentation"},
               "timing": "images_per_s = trials x epochs x train_rows / seconds; seconds = wall "
                         "time of training every trial of the side from its model's creation to "
                         "one validation pass after its last epoch, data already on the device "
                         "(PyTorch: synchronized before and after; batchtune: bench's "
                         "packed.train_seconds, which excludes process start-up and data "
                         "loading). A short untimed warm-up precedes each PyTorch side "
                         "(cuDNN autotuning, allocator); batchtune has none."}
        oom = getattr(torch, "OutOfMemoryError", None) or torch.cuda.OutOfMemoryError
        for key, short, fn in (("pytorch_sequential", "seq", run_sequential),
                               ("pytorch_vmap", "vmap", run_vmap)):
            if short in a.skip:
                continue
            log(f"{key}: {a.seq_trials if short == 'seq' else a.trials} trials ...")
            try:
                res[key] = fn(a, torch, dev, data, clock)
                r = res[key]
                log(f"    {r['images_per_s']:.0f} images/s ({r['seconds']:.2f} s); loss "
                    f"{r['loss_first_steps_mean']:.3f} -> {r['loss_last_steps_mean']:.3f}, valid "
                    f"accuracy {r['valid_accuracy_mean']:.3f}")
            except oom as e:
                res[key] = {"error": f"out of memory: {str(e)[:500]}"}
                log(f"    {res[key]['error']}")
            except Exception as e:  # noqa: BLE001 -- record it, measure the other sides
                import traceback
                res[key] = {"error": f"{type(e).__name__}: {str(e)[:500]}",
                            "traceback": traceback.format_exc()[-3000:]}
                log(f"    {res[key]['traceback']}")
            if dev.type == "cuda":
                torch.cuda.empty_cache()
        losses = {k: res[k].pop("_losses") for k in ("pytorch_sequential", "pytorch_vmap")
                  if "_losses" in res.get(k, {})}
        if len(losses) == 2:  # the same trials, inits and row orders: the same loss curves
            seq, vm = losses["pytorch_sequential"], losses["pytorch_vmap"][:, :a.seq_trials]
            diff = (seq - vm).abs()
            res["pytorch_vmap"]["loss_vs_sequential"] = {
                "trials": a.seq_trials, "max_abs_diff_first_step": float(diff[0].max()),
                "max_abs_diff_first_epoch": float(diff[:len(spans(a.train_rows, a.batch))].max()),
                "max_abs_diff": float(diff.max())}
            log(f"    vmap vs one at a time, trial losses: max |diff| first step "
                f"{float(diff[0].max()):.2e}, all steps {float(diff.max()):.2e}")
        if "batchtune" not in a.skip:
            log(f"batchtune: {a.trials} trials packed ...")
            del data
            if dev.type == "cuda":
                torch.cuda.empty_cache()  # leave the device's memory to batchtune
            res["batchtune"] = run_batchtune(a, work, dataset)
            bt = res["batchtune"]
            log(f"    {bt['images_per_s']:.0f} images/s ({bt['seconds']:.2f} s)"
                if "images_per_s" in bt else f"    {bt['error']}")
        ratios = {}
        bt = res.get("batchtune", {}).get("images_per_s")
        for k, target in TARGETS.items():
            other = res.get(k, {}).get("images_per_s")
            if bt and other:
                ratios[f"batchtune_over_{k}"] = {"ratio": bt / other, "target": target,
                                                 "met": bt / other >= target}
        res["ratios"] = ratios
        out = a.out_json
        if not out:
            kind = "gpu" if dev.type == "cuda" else "cpu"
            name = slug(device["name"] if dev.type == "cuda" else socket.gethostname())
            out = os.path.join(a.out_dir, f"{res['date'][:10]}-{kind}-{name}-resnet"
                                          f"{'-quick' if a.quick else ''}.json")
        os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
        with open(out, "w") as f:
            json.dump(res, f, indent=1)
        print(f"{'side':<20} {'trials':>6} {'seconds':>9} {'images/s':>10} {'loss first->last':>17}"
              f" {'valid acc':>9}")
        for k in SIDES:
            r = res.get(k)
            if not r:
                continue
            if "error" in r:
                print(f"{k:<20} {r['error']}")
            elif k == "batchtune":
                print(f"{k:<20} {r['trials']:>6} {r['seconds']:>9.2f} {r['images_per_s']:>10.0f}")
            else:
                fl = f"{r['loss_first_steps_mean']:.3f}->{r['loss_last_steps_mean']:.3f}"
                print(f"{k:<20} {r['trials']:>6} {r['seconds']:>9.2f} {r['images_per_s']:>10.0f}"
                      f" {fl:>17} {r['valid_accuracy_mean']:>9.3f}")
        for k, r in ratios.items():
            print(f"{k}: {r['ratio']:.2f}x (target {r['target']}x{'' if dev.type == 'cuda' else ', GPU only'})")
        print(f"written: {out}")
        errors = [k for k in SIDES if "error" in res.get(k, {})]
        return 1 if errors else 0
    finally:
        if not a.workdir:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
