#!/usr/bin/python3
"""64 CIFAR-style ResNet-20 trials (batch 128) on one GPU, three ways, side by side in one run:
(a) PyTorch training one trial at a time, (b) PyTorch torch.func (functional_call + vmap over the
64 trials' stacked parameters) training all of them in each step, (c) batchtune training the
equivalent sweep (bench/gpu/resnet20-64.json) packed. Reports aggregate training images/s and the
ratios batchtune/(a) (target >= 5) and batchtune/(b) (target >= 1.5); writes JSON with the device,
date, commit and commands to --out-dir. Needs torch with CUDA; no network."""
import argparse
import datetime
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


def parse_args():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--batchtune", default=os.path.join(REPO, "build-cuda", "batchtune"),
                   help="batchtune binary built with CUDA (default REPO/build-cuda/batchtune)")
    p.add_argument("--sweep", default=os.path.join(HERE, "gpu", "resnet20-64.json"))
    p.add_argument("--trials", type=int, default=64, help="trials of the sweep (default 64)")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--depth", type=int, default=20, help="6n+2: 8, 14, 20, 32")
    p.add_argument("--width", type=int, default=16, help="base width (16 = ResNet-20)")
    p.add_argument("--train-rows", type=int, default=10240,
                   help="training images per epoch (default 10240 = 80 batches of 128)")
    p.add_argument("--valid-rows", type=int, default=1024)
    p.add_argument("--epochs", type=int, default=2, help="epochs each trial trains (default 2)")
    p.add_argument("--seq-trials", type=int, default=8,
                   help="trials (a) trains one after another; its images/s does not depend on "
                        "the count (default 8)")
    p.add_argument("--data", default="synthetic",
                   help="'synthetic' (3x32x32, default) or a Fashion-MNIST folder holding "
                        "train-images-idx3-ubyte(.gz) etc. (1x28x28)")
    p.add_argument("--skip", default="", help="comma list of sides to skip: seq,vmap,batchtune")
    p.add_argument("--math", default="tf32", choices=["tf32", "fp32"],
                   help="matmul/conv precision on every side (default tf32, batchtune's default)")
    p.add_argument("--out-dir", default=os.path.join(HERE, "results"))
    p.add_argument("--workdir", default=None, help="keep data and sweep here (default: temp)")
    p.add_argument("--quick", action="store_true",
                   help="smoke run: 4 trials, 1024 images, 1 epoch, depth 8")
    a = p.parse_args()
    if a.quick:
        a.trials, a.train_rows, a.valid_rows, a.epochs, a.seq_trials, a.depth = 4, 1024, 256, 1, 2, 8
    if (a.depth - 2) % 6 or a.depth < 8:
        p.error("--depth must be 6n + 2 (8, 14, 20, 32, ...)")
    a.skip = set(x for x in a.skip.split(",") if x)
    return a


def log(msg):
    print(f"bench_nn_gpu: {msg}", file=sys.stderr, flush=True)


# ---- data ---------------------------------------------------------------------------------------

def synthetic(n, seed, np):
    """3x32x32 uint8 images of 10 classes: a class-dependent colour blob on noise, learnable."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 10, n).astype(np.uint8)
    x = rng.integers(0, 96, (n, 3, 32, 32)).astype(np.int32)
    cy, cx = (y % 5) * 6 + 4, (y // 5) * 14 + 8
    yy, xx = np.mgrid[0:32, 0:32]
    for i in range(n):
        blob = ((yy - cy[i]) ** 2 + (xx - cx[i]) ** 2) < 30
        x[i, y[i] % 3][blob] += 150
    return np.clip(x, 0, 255).astype(np.uint8), y


def write_cifar(path, x, y, np):
    rec = np.concatenate([y.reshape(-1, 1), x.reshape(len(y), -1)], axis=1).astype(np.uint8)
    rec.tofile(path)


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
    """Returns (x_train uint8 NCHW, y_train, x_valid, y_valid, dataset block for batchtune)."""
    if a.data == "synthetic":
        xt, yt = synthetic(a.train_rows, 1, np)
        xv, yv = synthetic(a.valid_rows, 2, np)
        tr, va = os.path.join(work, "data_batch_1.bin"), os.path.join(work, "test_batch.bin")
        write_cifar(tr, xt, yt, np)
        write_cifar(va, xv, yv, np)
        return xt, yt, xv, yv, {"train": tr, "valid": va, "format": "cifar"}
    d = os.path.abspath(a.data)
    files = [find(d, s) for s in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                  "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")]
    xt, yt, xv, yv = (read_idx(f, np) for f in files)
    xt, yt = xt[:a.train_rows, None], yt[:a.train_rows]
    xv, yv = xv[:a.valid_rows, None], yv[:a.valid_rows]
    return xt, yt, xv, yv, {"train": files[0], "train_labels": files[1], "valid": files[2],
                            "valid_labels": files[3], "format": "idx"}


# ---- the model (PyTorch) -----------------------------------------------------------------------

def resnet(torch, depth, width, channels, classes=10):
    """CIFAR ResNet (He et al. 2016, section 4.2): 3 stages of (depth - 2) / 6 basic blocks,
    widths w, 2w, 4w, stride 2 at stages 2 and 3 with a 1x1 strided convolution + batch norm
    shortcut (the block tests/test_nn_conv.c composes), global average pooling, one linear."""
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
    return nn.Sequential(*layers)


def grid(trials):
    """The sweep's lr x weight_decay grid, first `trials` configurations in grid order."""
    lrs = [0.01, 0.02, 0.03, 0.05, 0.07, 0.1, 0.15, 0.2]
    wds = [0.0, 1e-5, 3e-5, 1e-4, 2e-4, 3e-4, 5e-4, 1e-3]
    return [(lr, wd) for lr in lrs for wd in wds][:trials]


def timed(torch, fn):
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    fn()
    torch.cuda.synchronize()
    return time.perf_counter() - t0


def run_sequential(a, torch, xt, yt):
    """(a) one trial at a time: a plain training loop per trial (torch.optim.SGD, momentum 0.9),
    each trial with its own shuffle; the first 3 steps of the first trial are warm-up."""
    dev = torch.device("cuda")
    n, B = xt.shape[0], a.batch
    steps = n // B
    cfgs = grid(a.trials)[:a.seq_trials]
    loss_fn = torch.nn.CrossEntropyLoss()

    def train(cfg, epochs, limit=None):
        torch.manual_seed(0)
        model = resnet(torch, a.depth, a.width, xt.shape[1]).to(dev)
        opt = torch.optim.SGD(model.parameters(), lr=cfg[0], momentum=0.9, weight_decay=cfg[1])
        model.train()
        done = 0
        for _ in range(epochs):
            perm = torch.randperm(n, device=dev)
            for s in range(steps):
                idx = perm[s * B:(s + 1) * B]
                opt.zero_grad(set_to_none=True)
                loss = loss_fn(model(xt[idx]), yt[idx])
                loss.backward()
                opt.step()
                done += 1
                if limit and done >= limit:
                    return
    timed(torch, lambda: train(cfgs[0], 1, limit=3))
    secs = timed(torch, lambda: [train(c, a.epochs) for c in cfgs])
    images = len(cfgs) * a.epochs * steps * B
    return {"trials": len(cfgs), "seconds": secs, "images": images, "images_per_s": images / secs}


def run_vmap(a, torch, xt, yt):
    """(b) torch.func: the trials' parameters stacked along a leading dimension, one vmapped
    functional_call per step (every trial its own mini-batch), gradients of the summed losses,
    SGD with momentum and per-trial lr / weight decay as tensor ops. Batch norm runs on batch
    statistics (torch.func.replace_all_batch_norm_modules_: vmap cannot update running stats)."""
    from torch.func import functional_call, stack_module_state, replace_all_batch_norm_modules_
    dev = torch.device("cuda")
    T, n, B = a.trials, xt.shape[0], a.batch
    steps = n // B
    cfgs = grid(T)
    torch.manual_seed(0)
    models = [resnet(torch, a.depth, a.width, xt.shape[1]).to(dev) for _ in range(T)]
    for m in models:
        replace_all_batch_norm_modules_(m)
        m.train()
    params, buffers = stack_module_state(models)
    base = resnet(torch, a.depth, a.width, xt.shape[1]).to("meta")
    replace_all_batch_norm_modules_(base)
    names = list(params.keys())
    lr = torch.tensor([c[0] for c in cfgs], device=dev)
    wd = torch.tensor([c[1] for c in cfgs], device=dev)
    mom = {k: torch.zeros_like(v) for k, v in params.items()}
    loss_fn = torch.nn.functional.cross_entropy

    def one(p, b, x, y):
        return loss_fn(functional_call(base, (p, b), (x,)), y)

    batched = torch.vmap(one, in_dims=(0, 0, 0, 0), randomness="different")

    def step(idx):
        ps = {k: params[k].detach().requires_grad_(True) for k in names}
        x = xt[idx]  # T x B x C x H x W
        losses = batched(ps, buffers, x, yt[idx])
        grads = torch.autograd.grad(losses.sum(), [ps[k] for k in names])
        with torch.no_grad():
            for k, g in zip(names, grads):
                shape = (-1,) + (1,) * (g.dim() - 1)
                d = g + wd.view(shape) * params[k]
                mom[k].mul_(0.9).add_(d)
                params[k].sub_(lr.view(shape) * mom[k])

    def train(epochs, limit=None):
        done = 0
        for _ in range(epochs):
            perms = torch.stack([torch.randperm(n, device=dev) for _ in range(T)])
            for s in range(steps):
                step(perms[:, s * B:(s + 1) * B])
                done += 1
                if limit and done >= limit:
                    return
    timed(torch, lambda: train(1, limit=3))
    secs = timed(torch, lambda: train(a.epochs))
    images = T * a.epochs * steps * B
    return {"trials": T, "seconds": secs, "images": images, "images_per_s": images / secs}


# ---- batchtune ---------------------------------------------------------------------------------

def run_batchtune(a, work, dataset):
    """(c) the sweep with its dataset block replaced; `batchtune bench --json` when this build's
    bench trains on the GPU (it says so in device.trained_on), else `batchtune run --device cuda`
    timed as a whole process (start-up, data loading and writing results included)."""
    if not os.path.exists(a.batchtune):
        return {"error": f"batchtune binary not found: {a.batchtune}"}
    sweep = json.load(open(a.sweep))
    sweep["dataset"] = dataset
    sweep["model"].update({"depth": a.depth, "width": a.width, "batch_size": a.batch,
                           "epochs": a.epochs})
    lr_values = sorted({c[0] for c in grid(a.trials)})
    wd_values = sorted({c[1] for c in grid(a.trials)})
    sweep["parameters"] = {"lr": {"values": lr_values}, "weight_decay": {"values": wd_values}}
    path = os.path.join(work, "resnet-sweep.json")
    json.dump(sweep, open(path, "w"), indent=1)
    v = subprocess.run([a.batchtune, "validate", path], capture_output=True, text=True)
    if v.returncode != 0:
        msg = (v.stderr or v.stdout).strip()
        if "unknown model type 'resnet'" in msg:
            return {"error": "batchtune: resnet family not available", "detail": msg}
        return {"error": "batchtune validate failed", "detail": msg}
    trials = len(lr_values) * len(wd_values)
    env = dict(os.environ, BT_NN_MATH=a.math, BT_MLP_CUDA="1")  # the nn GPU packs are opt-in
    h = subprocess.run([a.batchtune, "bench", "--help"], capture_output=True, text=True)
    if "--device" in (h.stdout + h.stderr):
        cmd = [a.batchtune, "bench", path, "--json", "--device", "cuda"]
        r = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if r.returncode != 0:
            if "has no CUDA pack" in r.stderr:
                return {"error": "batchtune: resnet family has no CUDA pack in this build",
                        "detail": r.stderr.strip(), "command": " ".join(cmd)}
            return {"error": "batchtune bench failed", "detail": r.stderr.strip(),
                    "command": " ".join(cmd)}
        j = json.loads(r.stdout)
        on = (j.get("device") or {}).get("trained_on") or ""
        if not on.startswith("cuda"):  # the resnet CUDA pack (models/nn/resnet_cuda.c) must run
            return {"error": f"batchtune bench trained on {on or '?'}, not on the GPU",
                    "detail": (j.get("device") or {}).get("reason"), "command": cmd}
        secs = j["packed"]["train_seconds"]
        out = {"mode": "bench", "command": " ".join(cmd), "bench": j}
    else:
        res = os.path.join(work, "resnet.h5")
        cmd = [a.batchtune, "run", path, "--device", "cuda", "--out", res, "--fresh", "--quiet"]
        t0 = time.perf_counter()
        r = subprocess.run(cmd, capture_output=True, text=True, env=env)
        secs = time.perf_counter() - t0
        if r.returncode != 0:
            if "has no CUDA pack" in r.stderr:
                return {"error": "batchtune: resnet family has no CUDA pack in this build",
                        "detail": r.stderr.strip(), "command": " ".join(cmd)}
            return {"error": f"batchtune run exited {r.returncode}", "detail": r.stderr.strip(),
                    "command": " ".join(cmd)}
        out = {"mode": "run (whole process: start-up, data, results file included)",
               "command": " ".join(cmd)}
    images = trials * a.epochs * a.train_rows  # batchtune never drops the last short batch
    out.update({"trials": trials, "seconds": secs, "images": images, "images_per_s": images / secs,
                "BT_NN_MATH": a.math})
    return out


# ---- main --------------------------------------------------------------------------------------

def git_commit():
    try:
        return subprocess.run(["git", "-C", REPO, "rev-parse", "HEAD"], capture_output=True,
                              text=True).stdout.strip() or None
    except OSError:
        return None


def main():
    a = parse_args()
    import numpy as np
    try:
        import torch
    except ImportError:
        raise SystemExit("bench_nn_gpu: PyTorch is not installed")
    if not torch.cuda.is_available():
        raise SystemExit("bench_nn_gpu: no CUDA device visible to PyTorch")
    torch.backends.cuda.matmul.allow_tf32 = a.math == "tf32"
    torch.backends.cudnn.allow_tf32 = a.math == "tf32"
    torch.backends.cudnn.benchmark = True
    work = a.workdir or tempfile.mkdtemp(prefix="bench_nn_gpu_")
    os.makedirs(work, exist_ok=True)
    try:
        xt8, yt8, xv8, yv8, dataset = make_data(a, work, np)
        dev = torch.device("cuda")
        xt = torch.from_numpy(xt8.astype(np.float32) / 255.0).to(dev)
        yt = torch.from_numpy(yt8.astype(np.int64)).to(dev)
        res = {"benchmark": "bench_nn_gpu", "date": datetime.datetime.now(datetime.timezone.utc)
               .isoformat(timespec="seconds"), "commit": git_commit(), "host": socket.gethostname(),
               "command": " ".join([sys.executable] + sys.argv),
               "device": {"gpu": torch.cuda.get_device_name(0), "torch": torch.__version__,
                          "cuda": torch.version.cuda, "cudnn": torch.backends.cudnn.version(),
                          "python": platform.python_version()},
               "config": {"model": f"resnet{a.depth}", "width": a.width, "batch": a.batch,
                          "trials": a.trials, "epochs": a.epochs, "train_rows": a.train_rows,
                          "image": list(xt8.shape[1:]), "data": a.data, "math": a.math,
                          "optimizer": "sgd momentum 0.9, grid over lr x weight_decay"}}
        if "seq" not in a.skip:
            log(f"(a) PyTorch, {a.seq_trials} trials one at a time ...")
            res["pytorch_sequential"] = run_sequential(a, torch, xt, yt)
            log(f"    {res['pytorch_sequential']['images_per_s']:.0f} images/s")
        if "vmap" not in a.skip:
            log(f"(b) PyTorch torch.func vmap, {a.trials} trials per step ...")
            try:
                res["pytorch_vmap"] = run_vmap(a, torch, xt, yt)
                log(f"    {res['pytorch_vmap']['images_per_s']:.0f} images/s")
            except torch.cuda.OutOfMemoryError as e:
                res["pytorch_vmap"] = {"error": f"out of memory: {e}"}
                torch.cuda.empty_cache()
        if "batchtune" not in a.skip:
            log(f"(c) batchtune, {a.trials} trials packed ...")
            del xt, yt
            torch.cuda.empty_cache()  # leave the device's memory to batchtune
            res["batchtune"] = run_batchtune(a, work, dataset)
            bt = res["batchtune"]
            log(f"    {bt['images_per_s']:.0f} images/s" if "images_per_s" in bt else
                f"    {bt['error']}")
        ratios = {}
        bt = res.get("batchtune", {}).get("images_per_s")
        for k, target in (("pytorch_sequential", 5.0), ("pytorch_vmap", 1.5)):
            other = res.get(k, {}).get("images_per_s")
            if bt and other:
                ratios[f"batchtune_over_{k}"] = {"ratio": bt / other, "target": target,
                                                 "met": bt / other >= target}
        res["ratios"] = ratios
        os.makedirs(a.out_dir, exist_ok=True)
        gpu = res["device"]["gpu"].replace(" ", "-").lower()
        out = os.path.join(a.out_dir, f"{datetime.date.today().isoformat()}-gpu-{gpu}-resnet.json")
        with open(out, "w") as f:
            json.dump(res, f, indent=1)
        print(f"{'side':<22} {'trials':>6} {'seconds':>9} {'images/s':>11}")
        for k in ("pytorch_sequential", "pytorch_vmap", "batchtune"):
            r = res.get(k)
            if not r:
                continue
            if "error" in r:
                print(f"{k:<22} {r['error']}")
            else:
                print(f"{k:<22} {r['trials']:>6} {r['seconds']:>9.2f} {r['images_per_s']:>11.0f}")
        for k, r in ratios.items():
            print(f"{k}: {r['ratio']:.2f}x (target {r['target']}x)")
        print(f"written: {out}")
    finally:
        if not a.workdir:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
