"""One call from trajectories to a validated kinetic model of target atoms (e.g. Li⁺ solvation states).

:func:`kinetic_analysis` chains what a study of Li⁺ kinetics does by hand: features (neighbour
graphs, or shell counts by species at a few radii), a model with ``m`` states (GraphVAMPNet, MLP
VAMPNet, or TICA → k-means → MSM with PCCA+), implied timescales against the lag with bootstrap
intervals over target atoms, a Chapman–Kolmogorov test, stationary populations and the per-state
interpretation (shell composition, net charge, per-state RDFs, representative frames).
:meth:`KineticAnalysis.write` saves it all: ``timescales.json`` (lag → timescales in ps),
``populations.json``, ``ck_test.json``, ``states.json``, ``diagnostics.json`` (the checks of
:mod:`trajml.kinetics.diagnostics`, in plain language), the plots and the model file. The default
model is 'tica' (seconds); a lag no trajectory spans is refused, one over a quarter of the shortest
warns, and the graph model warns when its training budget is too small for the system.
"""

from __future__ import annotations

import json
import os
import tempfile
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from trajml._files import atomic_write, atomic_write_json
from trajml._validation import DEVICES, Param, invalid
from trajml.base import Parameterized
from trajml.io import open_source
from trajml.io.spacing import require_regular
from trajml.io.universe import is_universe
from trajml.workflows.kinetic_checks import check_lag, check_training_budget

__all__ = ["kinetic_analysis", "KineticAnalysis", "KineticWorkflow", "MODELS"]

MODELS = ("graph", "mlp", "tica")


@dataclass(frozen=True, eq=False)
class KineticAnalysis:
    """Everything :func:`kinetic_analysis` computed.

    Attributes
    ----------
    model_kind : str
        'graph', 'mlp' or 'tica'.
    model : object
        GraphVAMPNetModel, VAMPNetModel or TICAMSMModel.
    lag : int
        Model lag in frames.
    dt_ps : float
        Time between analysed frames in ps.
    probabilities : list of ndarray, each shape (T_i, n_targets, m), float64
        State probabilities of every target in every frame (PCCA+ memberships for 'tica').
    timescales : ImpliedTimescalesResults
        Implied timescales (ps) against the lag: of the Koopman matrix between the soft states
        ('graph', 'mlp'), or of MSMs on the k-means states ('tica').
    ck : CKTestResults
        Chapman–Kolmogorov test at ``lag`` (on the PCCA+ sets for 'tica').
    populations : ndarray, shape (m,), float64
        Stationary populations of the states (of the PCCA+ sets for 'tica'); dimensionless.
    interpretation : StateInterpretationResults
        Per-state shell composition, net charge, RDFs and representative frames.
    feature_names : list of str
        Columns of the engineered features ('mlp', 'tica'); empty for 'graph'.
    memberships : ndarray, shape (n_states, n_metastable), float64, or None
        PCCA+ memberships of the network's soft states in the metastable sets (``n_metastable``).
    first_shells : dict of str to str
        Each shell species' cut-off and where it came from (given, or the first minimum of which g(r)).
    diagnostics : list of Diagnostic
        The checks of :mod:`trajml.kinetics.diagnostics`, each with a code, whether it passed, a
        plain-language message and its numbers: implied timescales converged in the lag, longer than
        the lag, distinct states, the Chapman–Kolmogorov test, and (graph) rows cut at max_neighbors.
    """

    model_kind: str
    model: Any
    lag: int
    dt_ps: float
    probabilities: list[np.ndarray]
    timescales: Any
    ck: Any
    populations: np.ndarray
    interpretation: Any
    feature_names: list[str]
    memberships: np.ndarray | None = None
    first_shells: dict[str, str] = field(default_factory=dict)
    diagnostics: list[Any] = field(default_factory=list)

    @property
    def warnings(self) -> list[str]:
        """The messages of the diagnostics that did not pass (plain language, what to do)."""
        from trajml.kinetics.diagnostics import warnings_of

        return warnings_of(self.diagnostics)

    def summary(self) -> str:
        """One paragraph: slowest timescales at the model lag and the state populations."""
        i = int(np.argmin(np.abs(self.timescales.lags - self.lag)))
        ts = ", ".join(f"{t:.4g}" for t in self.timescales.timescales_ps[i] if np.isfinite(t))
        pops = ", ".join(f"{p:.3f}" for p in self.populations)
        shells = "; ".join(f"{k}: {v}" for k, v in self.first_shells.items())
        warned = "".join(f"\nwarning: {w}" for w in self.warnings)
        return (f"{self.model_kind} model, {len(self.populations)} states, lag {self.lag} frames "
                f"({self.lag * self.dt_ps:g} ps): implied timescales {ts} ps; populations {pops}"
                + (f"\nfirst shells: {shells}" if shells else "") + warned)

    def write(self, directory: str | os.PathLike[str], *, plots: bool = True,
              provenance: dict[str, Any] | None = None) -> list[str]:
        """Write JSON, plots and the model into ``directory`` (each file written whole, then renamed).

        ``provenance`` (what made the files: version, command, parameters), when given, is the
        ``"trajml"`` key of every JSON file.

        Returns
        -------
        list of str
            The files written.
        """
        d = os.fspath(directory)
        os.makedirs(d, exist_ok=True)
        its = self.timescales
        written = [
            _write_json(d, "timescales.json", provenance, {
                "model": self.model_kind, "model_lag_frames": self.lag, "dt_ps": self.dt_ps,
                "units": {"lag_ps": "ps", "timescales_ps": "ps"}, "confidence": its.confidence,
                "n_bootstrap": its.n_bootstrap,
                "timescales_ps": _by_lag(its.lags_ps, its.timescales_ps),
                "lower_ps": _by_lag(its.lags_ps, its.lower), "upper_ps": _by_lag(its.lags_ps, its.upper),
            }),
            _write_json(d, "populations.json", provenance, {
                "model": self.model_kind, "states": list(range(len(self.populations))),
                "stationary_populations": _row(self.populations),
                "occupation": _row(self.interpretation.population),
                "pcca_memberships": None if self.memberships is None else [_row(r) for r in self.memberships],
                "notes": "stationary_populations: left eigenvector of the row-stochastic transition matrix at the "
                         "model lag; occupation: mean state probability over the frames analysed.",
            }),
            _write_json(d, "ck_test.json", provenance, json.loads(self.ck.to_json())),
            _write_json(d, "states.json", provenance, json.loads(self.interpretation.to_json())),
            _write_json(d, "diagnostics.json", provenance, {
                "model": self.model_kind, "diagnostics": [x.to_dict() for x in self.diagnostics]}),
        ]
        from trajml.store.models import save_model

        model_path = os.path.join(d, "model.npz")
        save_model(self.model, model_path)
        written.append(model_path)
        if plots:
            written += self._plots(d)
        return written

    def figures(self) -> dict[str, Any]:
        """The plots as matplotlib figures: timescales, ck_test, populations, state_rdf, state_shell."""
        import trajml.plotting as plotting

        def figure(obj: Any) -> Any:
            return obj.figure if hasattr(obj, "figure") else obj.flat[0].figure  # an Axes or an array of them

        return {"timescales": figure(plotting.plot_implied_timescales(self.timescales)),
                "ck_test": figure(plotting.plot_ck_test(self.ck)),
                "populations": figure(plotting.plot_state_populations(self.interpretation)),
                "state_rdf": figure(plotting.plot_state_rdf(self.interpretation)),
                "state_shell": figure(plotting.plot_state_shell(self.interpretation))}

    def _plots(self, d: str) -> list[str]:
        from trajml.plotting import use_offscreen_backend

        use_offscreen_backend()  # files only; never open a window
        import matplotlib.pyplot as plt

        out = []
        for name, fig in self.figures().items():
            path = os.path.join(d, f"{name}.png")
            with atomic_write(path, "wb", what="plot") as fh:
                fig.savefig(fh, dpi=120, bbox_inches="tight", format="png")
            plt.close(fig)
            out.append(path)
        return out


def _by_lag(lags_ps: np.ndarray, rows: np.ndarray | None) -> dict[str, list[float | None]] | None:
    """``{"<lag in ps>": [timescales in ps]}`` (None without rows)."""
    return None if rows is None else {f"{lp:g}": _row(t) for lp, t in zip(lags_ps, rows)}


def _row(a: Any) -> list[float | None]:
    return [None if not np.isfinite(v) else float(v) for v in np.asarray(a, dtype=np.float64).ravel()]


def _write_json(d: str, name: str, provenance: dict[str, Any] | None, obj: Any) -> str:
    path = os.path.join(d, name)
    atomic_write_json(path, obj if provenance is None else {"trajml": provenance, **obj}, indent=2)
    return path


def _default_lags(n_frames: int, lag: int) -> list[int]:
    """Roughly log-spaced lags up to a quarter of the longest trajectory, always including ``lag``."""
    top = max(1, n_frames // 4)
    lags = {int(v) for v in np.unique(np.round(np.geomspace(1, top, num=8)))} | {lag}
    return sorted(v for v in lags if v < n_frames)


def _shell_cutoffs(value: Any) -> Any:
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) or not v > 0:
                raise ValueError("a cut-off > 0 Å, or a mapping of shell labels to cut-offs > 0 Å")
            out[str(k)] = float(v)
        return out
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) or not value > 0:
        raise ValueError("a cut-off > 0 Å, or a mapping of shell labels to cut-offs > 0 Å")
    return float(value)


class KineticWorkflow(Parameterized):
    """The parameters of :func:`kinetic_analysis`, declared once for Python, ``trajml msm`` and the msm stage.

    ``KineticWorkflow(**params).run(source, **run_options)`` is :func:`kinetic_analysis`.
    """

    _parameters = {
        "select": Param("selection", help="atoms whose states are modelled (MDAnalysis syntax)",
                        aliases=("targets", "--targets"), metavar="SEL"),
        "n_states": Param("int", help="number of kinetic states (softmax outputs, or PCCA+ sets for tica)",
                          minimum=2, aliases=("states", "--states"), metavar="M"),
        "lag": Param("int", help="model lag in analysed frames", minimum=1, metavar="FRAMES"),
        "model": Param("str", help="tica (TICA -> k-means -> MSM on shell counts: seconds, the default), graph "
                       "(GraphVAMPNet on neighbour graphs: minutes to hours of training) or mlp (VAMPNet on shell "
                       "counts)", choices=MODELS),
        "shell": Param("mapping", help="shell species, LABEL=SEL", nullable=True,
                       none_help="'polymer O=name O' 'anion=name TFSI'", metavar="LABEL=SEL"),
        "r_shell": Param("any", help="first-shell cut-off(s)", unit="Å", nullable=True,
                         none_help="first minimum of each g(r)", check=_shell_cutoffs,
                         describe="a cut-off > 0 Å, or a mapping of shell labels to cut-offs > 0 Å", metavar="Å"),
        "radii": Param("floats", help="shell-count radii of mlp and tica", unit="Å", positive=True,
                       increasing=True, nullable=True, none_help="0.8, 1 and 1.25 x each first-shell cut-off"),
        "its_lags": Param("ints", help="lags of the implied-timescale plot", minimum=1, nullable=True,
                          none_help="about 8 log-spaced up to a quarter of the run", metavar="FRAMES"),
        "mlags": Param("int", help="multiples of the lag in the Chapman-Kolmogorov test", minimum=2,
                       aliases=("--ck-multiples",)),
        "n_bootstrap": Param("int", help="bootstrap samples over target atoms (0: none)", minimum=0,
                             aliases=("bootstrap", "--bootstrap")),
        "epochs": Param("int", help="VAMPNet training epochs", minimum=1),
        "batch_size": Param("int", help="frame pairs (graph) or pairs (mlp) per batch", minimum=1, nullable=True,
                            none_help="16 for graph, 256 for mlp"),
        "n_clusters": Param("int", help="k-means clusters of the tica model", minimum=2,
                            aliases=("clusters", "--clusters")),
        "r_max": Param("float", help="graph cut-off", unit="Å", positive=True, nullable=True,
                       none_help="the largest first-shell cut-off"),
        "max_neighbors": Param("int", help="graph neighbours kept per atom", minimum=1),
        "graph_dir": Param("path", help="keep the graph dataset here (reused by a rerun)", nullable=True,
                           none_help="a temporary folder"),
        "seed": Param("int", help="seed of training, clustering and bootstrap", minimum=0),
        "device": Param("str", help="where neighbour searches and training run", choices=DEVICES),
        "model_options": Param("mapping", help="extra keyword arguments of the estimator", nullable=True,
                               cli=False),
        "n_metastable": Param("int", help="graph/mlp: lump the soft states into this many metastable sets (PCCA+)",
                              minimum=2, nullable=True, none_help="no lumping", aliases=("--metastable",)),
        "interpret": Param("str", help="per-state statistics weighted by the state probabilities (soft) or from "
                           "each target's most probable state (hard)", choices=("soft", "hard")),
    }

    def __init__(self, select: Any = "name Li", n_states: int = 3, lag: int = 5, *, model: str = "tica",
                 shell: Mapping[str, Any] | None = None, r_shell: float | Mapping[str, float] | None = None,
                 radii: Sequence[float] | None = None, its_lags: Sequence[int] | None = None, mlags: int = 4,
                 n_bootstrap: int = 50, epochs: int = 20, batch_size: int | None = None, n_clusters: int = 20,
                 r_max: float | None = None, max_neighbors: int = 24,
                 graph_dir: str | os.PathLike[str] | None = None, seed: int = 0, device: str = "cpu",
                 model_options: Mapping[str, Any] | None = None, n_metastable: int | None = None,
                 interpret: str = "soft") -> None:
        self._set_params(locals())

    @classmethod
    def _check_relations(cls, values: dict[str, Any]) -> None:
        if values.get("model") == "tica" and values.get("n_clusters", 20) < values.get("n_states", 3):
            raise invalid("n_clusters", cls.__name__, f"at least n_states ({values['n_states']}): PCCA+ groups "
                          "clusters into states", values["n_clusters"])

    def run(self, source: Any, *, start: int = 0, stop: int | None = None, step: int = 1, chunk_size: int = 100,
            progress: bool | None = None) -> "KineticAnalysis":
        """:func:`kinetic_analysis` of ``source`` (a Source or an MDAnalysis Universe) with these parameters."""
        source = open_source(source) if is_universe(source) else source  # MDAnalysis interop, as the engine
        return kinetic_analysis(source, **self.get_params(), start=start, stop=stop, step=step,
                                chunk_size=chunk_size, progress=progress)


def kinetic_analysis(source: Any, select: Any = "name Li", n_states: int = 3, lag: int = 5, *,
                     model: str = "tica", shell: Mapping[str, Any] | None = None,
                     r_shell: float | Mapping[str, float] | None = None, radii: Sequence[float] | None = None,
                     its_lags: Sequence[int] | None = None, mlags: int = 4, n_bootstrap: int = 50,
                     start: int = 0, stop: int | None = None, step: int = 1, chunk_size: int = 100,
                     epochs: int = 20, batch_size: int | None = None, n_clusters: int = 20,
                     r_max: float | None = None, max_neighbors: int = 24,
                     graph_dir: str | os.PathLike[str] | None = None, seed: int = 0,
                     device: str = "cpu", progress: bool | None = None,
                     model_options: Mapping[str, Any] | None = None,
                     n_metastable: int | None = None, interpret: str = "soft", **former: Any) -> "KineticAnalysis":
    """Fit and validate a kinetic model of the target atoms.

    Parameters
    ----------
    source : trajml.io.Source or MDAnalysis.Universe
        Trajectories with periodic boxes, equally spaced in time over the frames analysed (a
        Universe is read from its files, as :func:`trajml.io.open_source` does).
    select : str or array_like of int
        Atoms whose states are modelled (default every Li⁺). Formerly ``targets``.
    n_states : int
        Number of states m (softmax outputs, or PCCA+ sets for 'tica').
    lag : int
        Model lag in frames (of the analysed, strided frames). Default 5.
    model : {'tica', 'graph', 'mlp'}
        'tica' (default): TICA → k-means → MSM with PCCA+ on shell counts by species, seconds on
        thousands of atoms, states that are shells by construction. 'graph': GraphVAMPNet on
        neighbour graphs of all atoms, which must be trained (warns when ``epochs`` give it fewer
        than :data:`~trajml.workflows.kinetic_checks.MIN_TRAINING_STEPS` optimizer steps). 'mlp':
        MLP VAMPNet on shell counts.
    shell : mapping of str to selection, optional
        Shell species, e.g. ``{"polymer O": "name O", "anion": "name TFSI"}`` (the default).
    r_shell : float or mapping of str to float, optional
        First-shell cut-off(s) in Å; default: the first minimum of each target–species g(r), the same
        cut-off every other analysis of the pair finds (:func:`~trajml.features.first_shell.first_shell`).
    radii : sequence of float, optional
        Shell-count radii in Å for 'mlp'/'tica' (default: 0.8, 1 and 1.25 × each r_shell, within
        half the box).
    its_lags : sequence of int, optional
        Lags (frames) of the implied-timescale plot (default: ~8 log-spaced up to a quarter of the run).
    mlags : int
        Multiples of ``lag`` in the Chapman–Kolmogorov test.
    n_bootstrap : int
        Bootstrap samples (over target atoms) of the intervals; 0 for none.
    start, stop, step, chunk_size : int
        Frames analysed and frames per streamed chunk.
    epochs, batch_size : int
        Training of the VAMPNets (default 20 epochs; batch_size: frame pairs for 'graph', default 16;
        pairs for 'mlp', default 256).
    n_clusters : int
        k-means clusters of the 'tica' route.
    r_max, max_neighbors : float, int
        Graph cut-off (Å; default: the largest first-shell cut-off, so the graph sees whole shells)
        and neighbours kept per atom of the 'graph' route.
    graph_dir : str or path-like, optional
        Where the graph dataset is stored (default: a temporary directory removed afterwards).
    seed : int
        Seeds training, clustering and the bootstrap.
    device : str
        'cpu' or 'cuda' for the neighbour searches and training.
    progress : bool, optional
        Progress bars (None: when on a terminal).
    **former
        Former parameter names (``targets``), accepted with a ``DeprecationWarning``.
    model_options : mapping, optional
        Extra keyword arguments of the estimator (e.g. ``dim`` or ``hidden``). A ``dt_ps`` in it
        must agree with the source's time step × ``step``, the time between analysed frames
        that every route uses.
    n_metastable : int, optional
        'graph'/'mlp': lump the ``n_states`` soft states into this many metastable sets by PCCA+
        (:func:`~trajml.kinetics.soft_validation.soft_pcca`) before validation and interpretation.
    interpret : {'soft', 'hard'}
        Weight each (frame, target) by its state probabilities in the per-state statistics
        ('soft', GDyNet's averages), or give it wholly to its most probable state ('hard': sharper
        contrasts when the states are fuzzy).

    Returns
    -------
    KineticAnalysis

    Raises
    ------
    IrregularTimeError
        The frames analysed span a gap, a repeated frame or a restart (the message names the
        file and frame, and the ``start=``/``stop=`` that avoid it).
    InvalidParameterError
        A ``dt_ps`` in ``model_options`` that contradicts the source's time step.
    """
    from trajml.features.first_shell import first_shell
    from trajml.features.shell_counts import ShellCounts
    from trajml.kinetics.diagnostics import diagnose
    from trajml.kinetics.interpret import StateInterpretation
    from trajml.kinetics.soft_validation import soft_ck_test, soft_implied_timescales, soft_populations
    from trajml.parallel.options import show_progress
    from trajml.selection import resolve_atoms

    source = open_source(source) if is_universe(source) else source  # MDAnalysis interop, as the engine
    owner = "kinetic_analysis"
    given = {k: v for k, v in locals().items() if k in KineticWorkflow._parameters}
    for old, value in former.items():
        new = {"targets": "select", "states": "n_states", "clusters": "n_clusters", "bootstrap": "n_bootstrap"}.get(old)
        if new is None:
            raise TypeError(f"kinetic_analysis() got an unexpected keyword argument {old!r}")
        warnings.warn(f"The '{old}' parameter of kinetic_analysis is now called '{new}'; the old name will be "
                      "removed in the next release.", DeprecationWarning, stacklevel=2)
        given[new] = value
    p = KineticWorkflow.validate_params(given)
    select, n_states, lag, model, interpret = p["select"], p["n_states"], p["lag"], p["model"], p["interpret"]
    n_bootstrap, n_clusters, r_shell, n_metastable = p["n_bootstrap"], p["n_clusters"], p["r_shell"], p["n_metastable"]
    targets = select
    progress = show_progress(progress)
    resolve_atoms(source, targets, "select", owner)  # a selection matching nothing fails here, named
    for k in range(source.n_trajectories):  # lags count frames: an uneven axis fails before any reading
        n_k = source.n_frames_of(k)
        require_regular(source, k, range(start, n_k if stop is None else min(stop, n_k), step), "Kinetic analysis")
    dt = float(source.dt) * step
    opts = _checked_dt(dict(model_options or {}), dt, step, owner)
    lengths = source.frames_in_range(start, stop, step)
    n_longest = max(lengths)
    check_lag(lag, lengths, owner, dt)
    shell = dict(shell) if shell is not None else {"polymer O": "name O", "anion": "name TFSI"}
    half_box = _half_box(source)
    if r_shell is None:
        # The same first shell as every other analysis of the pair (cached: computed once per process).
        found = {label: first_shell(source, targets, sel, owner=owner, name="r_shell", r_max=min(15.0, half_box),
                                    device=device) for label, sel in shell.items()}
        r_shell = {label: f.cutoff for label, f in found.items()}
        origins = {label: f.describe() for label, f in found.items()}
    else:
        origins = {label: "given" for label in shell}
    shells = r_shell if isinstance(r_shell, Mapping) else {label: float(r_shell) for label in shell}
    feature_names: list[str] = []
    tmp_graphs = None
    truncation = None
    if model == "graph":
        from trajml.kinetics.deep import GraphVAMPNet
        from trajml.store.graphs import GraphDataset

        if graph_dir is None:
            tmp_graphs = tempfile.mkdtemp(prefix="trajml-graphs-")
            graph_dir = tmp_graphs
        try:
            r_graph = max(shells.values()) if r_max is None else r_max
            ds = GraphDataset.from_source(source, graph_dir, targets, r_max=r_graph, max_neighbors=max_neighbors,
                                          chunk_size=chunk_size, start=start, stop=stop, step=step, device=device,
                                          progress=progress)
            check_training_budget(sum(max(0, n - lag) for n in lengths), epochs, batch_size or 16, owner)
            truncation = (_full_rows(ds), ds.max_neighbors, ds.r_max)
            fitted = GraphVAMPNet(n_states, lag, epochs=epochs, batch_size=batch_size or 16, seed=seed,
                                  device=device, progress=progress, **opts).fit(ds).fetch_model()
            probs = fitted.transform(ds)
        finally:
            if tmp_graphs is not None:
                import shutil

                shutil.rmtree(tmp_graphs, ignore_errors=True)
    else:
        if radii is None:
            half = half_box * 0.999
            radii = sorted({round(min(f * r, half), 3) for r in shells.values() for f in (0.8, 1.0, 1.25)})
        counts = ShellCounts(targets, shell, radii, device=device)
        feats = counts.compute(source, start=start, stop=stop, step=step, chunk_size=chunk_size)
        feature_names = counts.feature_names
        if model == "mlp":
            from trajml.kinetics.deep import VAMPNet

            fitted = VAMPNet(n_states, lag=lag, epochs=epochs, batch_size=batch_size or 256, seed=seed,
                             device=device, progress=progress, **{"hidden": (32, 32), **opts}).fit(feats).fetch_model()
            probs = [fitted.transform(f) for f in feats]
        else:
            from trajml.kinetics.tica import TICAMarkovModel

            fitted = TICAMarkovModel(lag, n_clusters, dt_ps=dt, n_metastable=n_states, seed=seed,
                                     **opts).fit(feats).fetch_model()
            memb = np.zeros((n_clusters, n_states))
            memb[fitted.msm.active_set] = fitted.msm.pcca_memberships
            probs = [_tica_probs(fitted, f, memb) for f in feats]
    lags = list(its_lags) if its_lags is not None else _default_lags(n_longest, lag)
    ck_multiples = max(1, min(mlags, (n_longest - 1) // lag))  # a long lag (warned above) leaves fewer multiples
    memberships = None
    if n_metastable is not None and model != "tica":
        from trajml.kinetics.soft_validation import soft_pcca

        memberships, probs = soft_pcca(probs, lag, n_metastable)
    n_sets = n_states if memberships is None else int(n_metastable)
    if model == "tica":
        # The classic route is judged as users know it: MSMs on the k-means states (deeptime), CK on
        # the PCCA+ sets, populations of the sets.
        from trajml.kinetics.msm import ck_test, implied_timescales

        dtrajs = [d for f in feats for d in fitted.assign(f, per_target=True)]
        its = implied_timescales(dtrajs, lags, dt, n_its=n_states - 1, n_bootstrap=n_bootstrap, seed=seed)
        ck = ck_test(dtrajs, lag, dt, mlags=ck_multiples, n_metastable=n_states, n_bootstrap=n_bootstrap, seed=seed)
        pops = fitted.msm.metastable_populations
    else:
        its = soft_implied_timescales(probs, lags, dt, n_bootstrap=n_bootstrap, seed=seed)
        ck = soft_ck_test(probs, lag, dt, mlags=ck_multiples, n_bootstrap=n_bootstrap, seed=seed)
        pops = soft_populations(probs, lag)
    states = probs if interpret == "soft" else [p.argmax(-1) for p in probs]
    interp = StateInterpretation(shell, r_shell=shells, r_max=min(max(shells.values()) * 1.6, half_box),
                                 n_bins=80, charge=source.atoms.charges is not None, n_states=n_sets).compute(
        source, targets, states if source.n_trajectories > 1 else states[0], start=start, stop=stop, step=step,
        chunk_size=chunk_size)
    checks = diagnose(its=its, lag=lag, ck=ck, interpretation=interp, graph_truncation=truncation)
    return KineticAnalysis(model_kind=model, model=fitted, lag=lag, dt_ps=dt, probabilities=probs, timescales=its,
                           ck=ck, populations=np.asarray(pops), interpretation=interp, feature_names=feature_names,
                           memberships=memberships, first_shells=origins, diagnostics=checks)


def _checked_dt(opts: dict[str, Any], dt: float, step: int, owner: str) -> dict[str, Any]:
    """``model_options`` without a ``dt_ps`` that agrees with the source's ``dt`` (× ``step``); refuse others.

    Every route takes the time between analysed frames from the source, whose time axis was
    checked against the files' stamps; a user's ``dt_ps`` can only repeat it.
    """
    if "dt_ps" not in opts:
        return opts
    given = opts.pop("dt_ps")
    ok = isinstance(given, (int, float, np.integer, np.floating)) and not isinstance(given, bool)
    if ok and np.isfinite(dt) and abs(float(given) - dt) <= 1e-6 * dt:
        return opts
    strided = f" (its dt {dt / step:g} ps × step={step})" if step != 1 else ""
    raise invalid("model_options", owner, f"without dt_ps, or with dt_ps={dt:g}: the frames analysed are "
                  f"{dt:g} ps apart by the source's time axis{strided}; a different time step is set where the "
                  "source is opened (open_source(..., dt=...)), where it is checked against the files' times",
                  {"dt_ps": given})


def _tica_probs(fitted: Any, features: np.ndarray, memberships: np.ndarray) -> np.ndarray:
    """PCCA+ memberships of the cluster each target is in, shape (T, n_targets, m)."""
    labels = np.stack(fitted.assign(features, per_target=True), axis=1)  # (T, n_targets)
    return memberships[labels]


def _full_rows(ds: Any, chunk: int = 100) -> float:
    """Share of the dataset's neighbour rows filled to its width (cut at max_neighbors, or exactly full)."""
    full = rows = 0
    for k, n in enumerate(ds.lengths):
        for lo in range(0, n, chunk):
            nbr, _ = ds.read(k, np.arange(lo, min(n, lo + chunk)))
            full += int((nbr[..., -1] >= 0).sum())
            rows += nbr.shape[0] * nbr.shape[1]
    return full / rows if rows else 0.0


def _half_box(source: Any) -> float:
    """Half the smallest perpendicular width of the first frame's box, in Å."""
    from trajml.box import Box

    chunk = source.read(source.partition(1, 0, 1)[0], np.zeros(1, dtype=np.int64))
    if chunk.boxes is None:
        from trajml.errors import MissingBoxError

        raise MissingBoxError("Kinetic analysis needs periodic boxes; the first frame has none.")
    return 0.5 * Box.from_matrix(chunk.boxes[0]).min_width
