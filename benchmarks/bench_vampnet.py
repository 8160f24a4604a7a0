"""VAMPNet training: trajml's VAMPNet against deeptime's (``--part mlp``); GraphVAMPNet scaling (``--part graph``).

Run by hand (not in CI)::

    python benchmarks/bench_vampnet.py                      # all parts (mlp, graph)
    python benchmarks/bench_vampnet.py --part mlp --quick   # smoke test in seconds
    python benchmarks/bench_vampnet.py --part mlp --out bench_vampnet_mlp.json

Parts
-----
``mlp``
    Training throughput (time-lagged pairs per second) of ``trajml.kinetics.deep.VAMPNet``
    against ``deeptime.decomposition.deep.VAMPNet`` on the same data, with the same lobe, batch
    size, optimiser, learning rate, epochs and threads. The data are generated features of a
    metastable jump process (``--states`` hidden states, ``--features`` dimensions, several
    separate trajectories); pairs never straddle two trajectories in either library.

    - trajml: ``VAMPNet(n_states, hidden, lag, lr, batch_size, epochs, patience=None,
      validation_fraction=0)``, ``.fit(trajectories)``: no validation, so every second goes to
      training and the last epoch is kept.
    - deeptime: ``VAMPNet(lobe, learning_rate=lr, optimizer='Adam', score_method='VAMP2',
      score_mode='trunc', epsilon)``, ``.fit(loader, n_epochs=epochs)`` with the documented
      loader, ``DataLoader(TrajectoriesDataset.from_numpy(lag, trajectories), batch_size,
      shuffle=True, drop_last=True)`` (``drop_last`` because trajml also skips the
      ``n_pairs % batch_size`` left-over pairs of each pass). ``score_mode='trunc'`` drops
      eigenvalues below ``epsilon`` as trajml does (deeptime's default 'regularize' adds
      ``epsilon`` instead). The lobe is the ``torch.nn.Sequential`` equivalent of trajml's:
      standardisation by the training mean and standard deviation, ``Linear`` + ``ELU`` per
      hidden width, ``Linear`` to the states, ``Softmax``; built after ``torch.manual_seed(seed)``
      in the same layer order, so both start from identical weights.
    - ``deeptime, batch loader``: the same deeptime estimator fed by a loader that gathers
      each shuffled batch with one tensor index per trajectory instead of ``batch_size``
      ``__getitem__`` calls and a collate. It is not deeptime's documented usage; it shows what
      deeptime's training step costs without its per-sample loader, the stricter reference.

    Throughput = training pairs processed (batches x batch size x epochs) / wall time of
    the fit call (lobe and loader construction included, both are negligible). Every method
    runs once untimed first (warm-up), then ``--repeats`` times interleaved; the table gives the
    median pairs/s, the spread ((max - min) / median) and the ratio trajml / deeptime (of the
    medians, and the median of the per-repeat ratios, which drifts of the machine affect less). As a
    sanity check it reports the final training score of each (mean batch VAMP-2 of the last
    epoch, constant function included, so in [1, states]) and the VAMP-2 of the trained lobe
    on all pairs of the data, evaluated alike for both (float64, truncation at ``epsilon``).

    Threads: every method runs with ``torch.set_num_threads(--threads)``, 1 by default. The
    matrices are small (a 512 x 64 batch), so a second intra-op thread gains little, and on a
    shared machine that is busier than its cores the threads of each operation wait on one
    another at every barrier: with 2 threads on 2 busy cores a fit ran 5-10x slower than with 1
    and the repeats scattered. Use ``--threads 2`` on an idle machine.

``graph``
    GraphVAMPNet epoch time, peak memory and validation VAMP-2 on a generated ~20 000-bead
    trajectory (:func:`trajml.sim.hopping_system`, 300 Li in cages of O hosts; graphs with K = 12,
    r_max = 6 Å; batches of 8 frame pairs; 3 states, dim 16, 3 convolutions), each run in a fresh
    interpreter, for two computations of the same network: ``reference``, the direct torch
    computation on whole torch-geometric batches (the code before; ``GraphVAMPNet._reference_path``),
    and ``fast``, the default (receptive fields of the targets, blocked message sums, tabulated
    distance filters). Epoch times are interleaved repeats (medians, wall and CPU time); peak RSS
    at 100 and 400 frames must stay flat (frames are read from disk batch by batch); the
    validation VAMP-2 of equal fits (same seed, a held-out time block) must agree. deeptime has no
    graph VAMPNet, so there is no peer to compare with.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _common  # noqa: E402
import numpy as np  # noqa: E402
from _common import format_table  # noqa: E402


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--part", choices=("all",) + tuple(PARTS), default="all", help="which benchmark to run")
    p.add_argument("--trajectories", type=int, default=None, help="separate trajectories (default 8; --quick 4)")
    p.add_argument("--frames", type=int, default=None,
                   help="frames per trajectory (default 25000; --quick 5000)")
    p.add_argument("--features", type=int, default=10, help="feature dimensions (default 10)")
    p.add_argument("--states", type=int, default=4, help="hidden states of the generator and softmax outputs (4)")
    p.add_argument("--hidden", default="64,64", help="hidden ELU widths, comma-separated (default 64,64)")
    p.add_argument("--lag", type=int, default=5, help="lag time in frames (default 5)")
    p.add_argument("--batch-size", type=int, default=512, help="pairs per batch (default 512)")
    p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate (default 1e-3)")
    p.add_argument("--epochs", type=int, default=None, help="epochs per fit (default 2; --quick 1)")
    p.add_argument("--epsilon", type=float, default=1e-6, help="truncation of the inverse square roots")
    p.add_argument("--repeats", type=int, default=None, help="timed fits per method (default 7; --quick 1)")
    p.add_argument("--threads", type=int, default=1,
                   help="torch.set_num_threads for every method (default 1; see the module docstring)")
    p.add_argument("--graph-epochs", type=int, default=4,
                   help="epochs of the graph part's validation fits (default 4)")
    p.add_argument("--device", default="cpu", choices=("cpu", "cuda"),
                   help="device of the graph part's GraphVAMPNet fits (default cpu; cuda needs a GPU)")
    p.add_argument("--seed", type=int, default=2024)
    p.add_argument("--quick", action="store_true", help="small sizes, for a smoke test")
    p.add_argument("--out", default=None, help="write the results as JSON here")
    args = p.parse_args(argv)
    args.trajectories = args.trajectories or (4 if args.quick else 8)
    args.frames = args.frames or (5000 if args.quick else 25000)
    args.epochs = args.epochs or (1 if args.quick else 2)
    args.repeats = args.repeats or (1 if args.quick else 7)
    args.hidden = tuple(int(h) for h in str(args.hidden).split(",") if h.strip())
    if args.device == "cuda":
        import torch

        if not torch.cuda.is_available():
            p.error("--device cuda: torch finds no CUDA device on this machine; leave --device out to run on the CPU")
    return args


# ----------------------------------------------------------------------------------------------
# data
# ----------------------------------------------------------------------------------------------

def metastable_features(n_traj: int, n_frames: int, n_features: int, n_states: int, seed: int,
                        p_switch: float = 0.005, noise: float = 0.8) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Features of a hidden metastable jump process, one array (n_frames, n_features) per trajectory.

    The hidden state jumps with probability ``p_switch`` per frame to one of the other states
    (mean life ``1 / p_switch`` frames). Each state has a centre in ``n_features`` dimensions;
    the features are the centre plus AR(1) noise (correlation 0.9 per frame), passed through a
    fixed random rotation and a mild nonlinearity, so no single coordinate separates the states.
    Returns the features (float32) and the hidden states.
    """
    from scipy.signal import lfilter

    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=1.5, size=(n_states, n_features))
    q, _ = np.linalg.qr(rng.normal(size=(n_features, n_features)))
    feats, states = [], []
    for _ in range(n_traj):
        jump = rng.random(n_frames) < p_switch
        step = np.where(jump, rng.integers(1, n_states, size=n_frames), 0)
        s = (int(rng.integers(n_states)) + np.cumsum(step)) % n_states
        eta = lfilter([np.sqrt(1 - 0.9 ** 2)], [1.0, -0.9], rng.normal(size=(n_frames, n_features)), axis=0)
        x = (centres[s] + noise * eta) @ q
        x = x + 0.3 * np.tanh(x[:, ::-1])
        feats.append(np.ascontiguousarray(x, dtype=np.float32))
        states.append(s)
    return feats, states


# ----------------------------------------------------------------------------------------------
# part: mlp
# ----------------------------------------------------------------------------------------------

def _deeptime_lobe(n_features: int, hidden: Sequence[int], n_states: int, mean: np.ndarray, std: np.ndarray,
                   seed: int) -> Any:
    """``torch.nn.Sequential`` equivalent of trajml's lobe, from the same seeded initial weights."""
    import torch

    class Standardise(torch.nn.Module):
        def __init__(self, shift: np.ndarray, scale: np.ndarray) -> None:
            super().__init__()
            self.register_buffer("shift", torch.as_tensor(shift, dtype=torch.float32))
            self.register_buffer("scale", torch.as_tensor(scale, dtype=torch.float32))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return (x - self.shift) / self.scale

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        layers: list[torch.nn.Module] = []
        width = n_features
        for h in hidden:
            layers += [torch.nn.Linear(width, h), torch.nn.ELU()]
            width = h
        layers += [torch.nn.Linear(width, n_states), torch.nn.Softmax(dim=-1)]
    return torch.nn.Sequential(Standardise(mean, std), *layers)


class _BatchLoader:
    """Shuffled batches of time-lagged pairs, each gathered with one tensor index per trajectory."""

    def __init__(self, trajs: Sequence[np.ndarray], lag: int, batch_size: int, seed: int) -> None:
        import torch

        self.x0 = [torch.as_tensor(a[:-lag]) for a in trajs]
        self.xt = [torch.as_tensor(a[lag:]) for a in trajs]
        self.offsets = np.cumsum([0] + [len(a) - lag for a in trajs])
        self.batch_size = batch_size
        self.gen = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return int(self.offsets[-1]) // self.batch_size

    def __iter__(self) -> Iterator[tuple[Any, Any]]:
        import torch

        order = torch.randperm(int(self.offsets[-1]), generator=self.gen)
        for b in range(len(self)):
            idx = order[b * self.batch_size:(b + 1) * self.batch_size].sort().values
            cut = np.searchsorted(idx.numpy(), self.offsets)
            x0, xt = [], []
            for k in range(len(self.x0)):
                if cut[k + 1] > cut[k]:
                    loc = idx[cut[k]:cut[k + 1]] - int(self.offsets[k])
                    x0.append(self.x0[k][loc])
                    xt.append(self.xt[k][loc])
            yield torch.cat(x0), torch.cat(xt)


def _full_vamp2(probs: Callable[[np.ndarray], np.ndarray], trajs: Sequence[np.ndarray], lag: int,
                epsilon: float) -> float:
    """VAMP-2 of trained state probabilities on all pairs of the data (float64, truncation at epsilon, +1)."""
    import torch
    from deeptime.decomposition.deep import vamp_score

    outs = [torch.as_tensor(np.asarray(probs(a), dtype=np.float64)) for a in trajs]
    x0 = torch.cat([o[:-lag] for o in outs])
    xt = torch.cat([o[lag:] for o in outs])
    return float(vamp_score(x0, xt, method="VAMP2", epsilon=epsilon, mode="trunc"))


def bench_mlp(args: argparse.Namespace) -> dict[str, Any]:
    import torch
    from deeptime.decomposition.deep import VAMPNet as DTVAMPNet
    from deeptime.util.data import TrajectoriesDataset

    from trajml.kinetics.deep import VAMPNet

    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    trajs, _ = metastable_features(args.trajectories, args.frames, args.features, args.states, args.seed)
    n_pairs = sum(len(a) - args.lag for a in trajs)
    n_batches = n_pairs // args.batch_size
    pairs_per_fit = n_batches * args.batch_size * args.epochs
    print(f"mlp: {args.trajectories} trajectories x {args.frames} frames x {args.features} features, "
          f"{args.states} hidden states, lag {args.lag}: {n_pairs} pairs, {n_batches} batches of "
          f"{args.batch_size} per epoch, {args.epochs} epochs; lobe {args.features}-"
          f"{'-'.join(map(str, args.hidden))}-{args.states}; torch threads {torch.get_num_threads()} "
          f"(data generated in {time.perf_counter() - t0:.1f} s)")

    stacked = np.concatenate(trajs).astype(np.float64)
    mean, std = stacked.mean(0), stacked.std(0)
    std = np.where(std > 0, std, 1.0)
    del stacked
    dataset = TrajectoriesDataset.from_numpy(args.lag, trajs)
    run_counter = iter(range(10 ** 9))

    def run_trajml() -> dict[str, Any]:
        est = VAMPNet(n_states=args.states, hidden=args.hidden, lag=args.lag, lr=args.lr, batch_size=args.batch_size,
                      epochs=args.epochs, patience=None, validation_fraction=0.0, seed=args.seed,
                      score_method="VAMP2", epsilon=args.epsilon)
        t = time.perf_counter()
        est.fit(trajs)
        seconds = time.perf_counter() - t
        model = est.fetch_model()
        return {"seconds": seconds, "pairs": pairs_per_fit, "train_score": float(model.train_scores[-1]),
                "full_vamp2": _full_vamp2(model.transform, trajs, args.lag, args.epsilon)}

    def run_deeptime(loader_kind: str) -> Callable[[], dict[str, Any]]:
        def run() -> dict[str, Any]:
            seed = args.seed + next(run_counter)
            t = time.perf_counter()
            lobe = _deeptime_lobe(args.features, args.hidden, args.states, mean, std, args.seed)
            if loader_kind == "documented":
                gen = torch.Generator().manual_seed(seed)
                loader: Any = torch.utils.data.DataLoader(dataset, batch_size=args.batch_size, shuffle=True,
                                                          drop_last=True, generator=gen)
            else:
                loader = _BatchLoader(trajs, args.lag, args.batch_size, seed)
            est = DTVAMPNet(lobe=lobe, learning_rate=args.lr, optimizer="Adam", device="cpu", score_method="VAMP2",
                            score_mode="trunc", epsilon=args.epsilon, dtype=np.float32)
            est.fit(loader, n_epochs=args.epochs)
            seconds = time.perf_counter() - t
            scores = est.train_scores
            assert len(scores) == n_batches * args.epochs, (len(scores), n_batches * args.epochs)
            lobe.eval()

            def probs(a: np.ndarray) -> np.ndarray:
                with torch.no_grad():
                    return lobe(torch.as_tensor(a)).numpy()
            return {"seconds": seconds, "pairs": pairs_per_fit, "train_score": float(scores[-n_batches:, 1].mean()),
                    "full_vamp2": _full_vamp2(probs, trajs, args.lag, args.epsilon)}
        return run

    methods = {"trajml VAMPNet": run_trajml,
               "deeptime VAMPNet (DataLoader)": run_deeptime("documented"),
               "deeptime VAMPNet (batch loader)": run_deeptime("batch")}
    ref = "deeptime VAMPNet (DataLoader)"
    print("warm-up (untimed)")
    for name, fn in methods.items():
        out = fn()
        print(f"  {name:<34s} {out['seconds']:8.3f} s")
    runs = _common.time_interleaved(methods, args.repeats)

    summary: dict[str, Any] = {}
    for name, outs in runs.items():
        rates = [o["pairs"] / o["seconds"] for o in outs]
        summary[name] = {"seconds": [o["seconds"] for o in outs], "pairs_per_s": rates,
                         "pairs_per_s_summary": _common.summarise(rates),
                         "train_score_last_epoch": [o["train_score"] for o in outs],
                         "full_data_vamp2": [o["full_vamp2"] for o in outs]}
    rows = []
    for name, s in summary.items():
        r = s["pairs_per_s_summary"]
        rows.append([name, f"{r['median']:,.0f}", f"{100 * r['spread']:.0f}%",
                     f"{r['median'] / summary[ref]['pairs_per_s_summary']['median']:.2f}x",
                     f"{statistics.median(s['train_score_last_epoch']):.3f}",
                     f"{statistics.median(s['full_data_vamp2']):.3f}"])
    print(f"\nVAMPNet training throughput ({pairs_per_fit} pairs per fit, median of {args.repeats})")
    print(format_table(["method", "pairs/s", "spread", f"vs {ref}", "train VAMP-2", "full-data VAMP-2"], rows))
    tj = summary["trajml VAMPNet"]["pairs_per_s_summary"]["median"]
    ratios = {f"trajml / {name}": tj / s["pairs_per_s_summary"]["median"]
              for name, s in summary.items() if name != "trajml VAMPNet"}
    # per-repeat ratios: the methods of one repeat ran back to back, so slow drifts of a shared
    # machine cancel in them better than in the ratio of medians
    paired = {f"trajml / {name}": _common.summarise([a / b for a, b in zip(summary["trajml VAMPNet"]["pairs_per_s"],
                                                                            s["pairs_per_s"])])
              for name, s in summary.items() if name != "trajml VAMPNet"}
    for k, v in ratios.items():
        q = paired[k]
        print(f"{k}: {v:.2f} (ratio of medians); per repeat median {q['median']:.2f}, "
              f"min {q['min']:.2f}, max {q['max']:.2f}")
    return {"config": {"trajectories": args.trajectories, "frames": args.frames, "features": args.features,
                       "states": args.states, "hidden": list(args.hidden), "lag": args.lag,
                       "batch_size": args.batch_size, "lr": args.lr, "optimizer": "Adam", "epochs": args.epochs,
                       "epsilon": args.epsilon, "torch_threads": torch.get_num_threads(),
                       "n_pairs": n_pairs, "batches_per_epoch": n_batches, "pairs_per_fit": pairs_per_fit,
                       "repeats": args.repeats, "reference": ref,
                       "deeptime": {"score_mode": "trunc", "dtype": "float32", "documented_loader":
                                    "DataLoader(TrajectoriesDataset, shuffle=True, drop_last=True)"},
                       "trajml": {"patience": None, "validation_fraction": 0.0}},
            "methods": summary, "ratios": ratios, "ratios_per_repeat": paired}


# ----------------------------------------------------------------------------------------------
# graph part: GraphVAMPNet epoch time and peak memory against trajectory length
# ----------------------------------------------------------------------------------------------

_GRAPH_CHILD = """
import os, time
import numpy as np, torch
torch.set_num_threads(PAYLOAD["threads"])
from trajml.io import open_source
from trajml.kinetics.deep import GraphVAMPNet
from trajml.store import GraphDataset

class Reference(GraphVAMPNet):
    _reference_path = True  # the direct computation on whole torch-geometric batches (the code before)

src = open_source(PAYLOAD["top"], PAYLOAD["traj"])
base = rss_peak()
t0 = time.perf_counter()
ds = GraphDataset.from_source(src, PAYLOAD["graphs"], "name Li", r_max=PAYLOAD["r_max"],
                              max_neighbors=PAYLOAD["k"], stop=PAYLOAD["frames"], chunk_size=50)
t_build = time.perf_counter() - t0
build_peak = rss_peak()
cls = Reference if PAYLOAD["path"] == "reference" else GraphVAMPNet
net = cls(3, PAYLOAD["lag"], epochs=PAYLOAD["epochs"], batch_size=PAYLOAD["batch"],
          validation="blocks", validation_fraction=PAYLOAD["validation_fraction"], patience=None, seed=0,
          device=PAYLOAD["device"])
t0, c0 = time.perf_counter(), time.process_time()
model = net.fit(ds).fetch_model()
t_fit, c_fit = time.perf_counter() - t0, time.process_time() - c0
out = {"path": PAYLOAD["path"], "frames": PAYLOAD["frames"], "epochs": PAYLOAD["epochs"], "build_s": t_build,
       "fit_s": t_fit, "fit_cpu_s": c_fit, "epoch_s": t_fit / PAYLOAD["epochs"],
       "epoch_cpu_s": c_fit / PAYLOAD["epochs"], "peak_rss": rss_peak(), "rss_after_import": base,
       "build_peak_rss": build_peak, "train_scores": model.train_scores.tolist(),
       "validation_scores": model.validation_scores.tolist(), "best_epoch": model.best_epoch,
       "dataset_bytes": sum(os.path.getsize(os.path.join(PAYLOAD["graphs"], f))
                            for f in os.listdir(PAYLOAD["graphs"]))}
if PAYLOAD["validation_fraction"] > 0:
    # the held-out block scored by the returned model (best epoch), and the state probabilities of a
    # few frames, to compare the two computations on identical weights in the parent
    out["validation_vamp2"] = float(max(model.validation_scores))
print(json.dumps(out))
"""

_PATHS = ("reference", "fast")


def bench_graph(args: argparse.Namespace) -> dict[str, Any]:
    """GraphVAMPNet on a ~20 000-bead hopping trajectory: the direct computation ("reference", the code
    before receptive fields and tables) against the default ("fast"), in fresh interpreters.

    1. Epoch time: one training epoch (no validation) on the first 100 frames, ``--repeats`` times per
       path, the two paths interleaved (reference, fast, reference, ...); medians and their ratio.
    2. Peak RSS against trajectory length: one epoch on 100 and on 400 frames per path; memory must
       not grow with the frames (they are read from the on-disk dataset batch by batch).
    3. Validation VAMP-2 at equal settings: ``--graph-epochs`` epochs on 100 frames with a held-out
       time block (validation='blocks', 20 %), same seed, per path: the best validation score
       (constant function included, so in [1, 3]).
    """
    import tempfile

    from trajml.sim import hopping_system

    cells = (4, 4, 4) if args.quick else (10, 10, 11)
    lengths = (40, 80) if args.quick else (100, 400)
    repeats = 1 if args.quick else max(args.repeats // 2, 2)
    work = tempfile.mkdtemp(prefix="bench-graph-")
    system = hopping_system(max(lengths), n_ions=32 if args.quick else 300, cells=cells, dt_ps=1.0, seed=1)
    top, traj = system.write(work)
    print(f"\ngraph: {system.n_atoms} atoms ({system.n_ions} Li), frames {lengths}, torch threads {args.threads}, "
          f"device {args.device}, paths {_PATHS}")

    def child(path: str, frames: int, epochs: int, validation_fraction: float) -> dict[str, Any]:
        payload = {"top": top, "traj": traj, "graphs": os.path.join(work, f"graphs{frames}"), "frames": frames,
                   "k": 12, "r_max": 6.0, "lag": 5, "batch": 8, "threads": args.threads, "path": path,
                   "epochs": epochs, "validation_fraction": validation_fraction, "device": args.device}
        return _common.run_python_child(_GRAPH_CHILD, payload)

    child("fast", lengths[0], 1, 0.0)  # warm-up (untimed): compiles the numba kernels into their cache
    epoch_runs: dict[str, list[dict[str, Any]]] = {p: [] for p in _PATHS}
    for r in range(repeats):
        for path in _PATHS:
            out = child(path, lengths[0], 1, 0.0)
            epoch_runs[path].append(out)
            print(f"  epoch, {lengths[0]} frames, {path:9s} repeat {r}: {out['epoch_s']:6.2f} s "
                  f"(CPU {out['epoch_cpu_s']:6.2f} s), peak RSS {_common.fmt_bytes(out['peak_rss'])}")
    epoch = {p: {"epoch_s": _common.summarise([o["epoch_s"] for o in runs]),
                 "epoch_cpu_s": _common.summarise([o["epoch_cpu_s"] for o in runs]),
                 "peak_rss": max(o["peak_rss"] for o in runs)} for p, runs in epoch_runs.items()}
    speedup = epoch["reference"]["epoch_s"]["median"] / epoch["fast"]["epoch_s"]["median"]
    speedup_cpu = epoch["reference"]["epoch_cpu_s"]["median"] / epoch["fast"]["epoch_cpu_s"]["median"]
    paired = _common.summarise([a["epoch_s"] / b["epoch_s"] for a, b in zip(epoch_runs["reference"],
                                                                           epoch_runs["fast"])])
    print(f"  epoch time reference / fast: {speedup:.2f}x (wall, medians), {speedup_cpu:.2f}x (CPU), "
          f"per repeat {paired['min']:.2f}-{paired['max']:.2f}x")

    scaling: dict[str, list[dict[str, Any]]] = {p: [epoch_runs[p][0]] for p in _PATHS}
    for path in _PATHS:
        out = child(path, lengths[1], 1, 0.0)
        scaling[path].append(out)
        print(f"  epoch, {lengths[1]} frames, {path:9s}: {out['epoch_s']:6.2f} s, peak RSS "
              f"{_common.fmt_bytes(out['peak_rss'])}")
    growth = {p: runs[1]["peak_rss"] / runs[0]["peak_rss"] for p, runs in scaling.items()}
    print("  peak RSS ratio " + ", ".join(f"{p} {g:.3f}" for p, g in growth.items()) + " (flat = 1)")

    validation = {}
    for path in _PATHS:
        out = child(path, lengths[0], args.graph_epochs, 0.2)
        validation[path] = out
        print(f"  {args.graph_epochs} epochs with validation, {path:9s}: {out['fit_s']:6.1f} s, validation "
              f"VAMP-2 per epoch {[round(v, 4) for v in out['validation_scores']]}")
    dv = validation["fast"]["validation_vamp2"] - validation["reference"]["validation_vamp2"]
    print(f"  best validation VAMP-2: reference {validation['reference']['validation_vamp2']:.4f}, fast "
          f"{validation['fast']['validation_vamp2']:.4f} (difference {dv:+.4f})")
    return {"n_atoms": system.n_atoms, "n_targets": system.n_ions,
            "epoch": {"frames": lengths[0], "repeats": repeats, "runs": epoch_runs, "summary": epoch,
                      "speedup_wall": speedup, "speedup_cpu": speedup_cpu, "speedup_per_repeat": paired},
            "rss_scaling": {"frames": list(lengths), "runs": scaling, "peak_rss_ratio": growth},
            "validation": {"frames": lengths[0], "epochs": args.graph_epochs, "validation": "blocks",
                           "validation_fraction": 0.2, "runs": validation, "best_vamp2_difference": dv,
                           "score_convention": "include_constant=True (deeptime), max 3 for 3 states"},
            "config": {"k": 12, "r_max_A": 6.0, "lag": 5, "batch_frame_pairs": 8, "dim": 16, "n_conv": 3,
                       "n_states": 3, "torch_threads": args.threads, "device": args.device, "seed": 0,
                       "paths": {"reference": "GraphVAMPNet._reference_path = True: torch-geometric batches "
                                              "and _GraphLobe.forward_reference (the computation before)",
                                 "fast": "receptive fields, blocked message sums, tabulated filters"}}}


#: One function per part; ``--part all`` runs them in this order.
PARTS: dict[str, Callable[[argparse.Namespace], dict[str, Any]]] = {"mlp": bench_mlp, "graph": bench_graph}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    command = _common.command_line("bench_vampnet.py", argv)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        env = _common.environment(("numpy", "scipy", "torch", "deeptime", "trajml"))
    print(f"bench_vampnet: {env['cpu_count']} CPUs, " + ", ".join(f"{k} {v}" for k, v in env["versions"].items()))
    results: dict[str, Any] = {"command": command, "environment": env,
                               "config": {k: (list(v) if isinstance(v, tuple) else v) for k, v in vars(args).items()
                                          if k != "out"}}
    for name, fn in PARTS.items():
        if args.part in ("all", name):
            results[name] = fn(args)
    print(f"\ncommand: {command}")
    _common.write_results(args.out, results)
    return results


if __name__ == "__main__":
    main()
