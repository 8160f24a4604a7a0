"""``trajml fes``: free-energy surface of 1-3 collective variables from a .npy or .csv file."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

import numpy as np

from trajml._files import atomic_savez
from trajml.cli._common import _use_agg, positive_float, positive_int, positive_temperature, provenance, save_plot

__all__ = ["register", "run", "read_array"]


def register(subparsers: Any) -> None:
    """Add the ``fes`` sub-command."""
    p = subparsers.add_parser(
        "fes",
        help="free-energy surface of collective variables (histogram, KDE, Gaussian process, neural network)",
        description="Estimate the free energy F = -kT ln p of 1 to 3 collective variables (one column each, one "
        "row per sample) from a .npy array or a CSV file (an optional header line names the columns). Writes an "
        ".npz with the grid (axis_K: bin centres, edges_K: bin edges, in the CVs' units), F and its standard "
        "deviation in kJ/mol and in kT, the minima, and a JSON 'units' entry. The file is written atomically.",
    )
    p.add_argument("cvs", metavar="CVS", help="samples: .npy array (n,) or (n, d), or .csv/.txt with one CV per column")
    a = p.add_argument_group("estimate")
    a.add_argument("--method", choices=("hist", "kde", "gp", "nn"), default="gp",
                   help="histogram, kernel density, Gaussian process (default) or neural-network ensemble")
    a.add_argument("--temperature", type=positive_temperature, required=True, metavar="K", help="temperature in K")
    a.add_argument("--columns", type=int, nargs="+", default=None, metavar="I",
                   help="0-based columns to use as CVs (default: all, at most 3)")
    a.add_argument("--weights", default=None, metavar="FILE",
                   help="per-sample weights of a biased simulation (.npy or one-column text), one per row of CVS")
    a.add_argument("--bins", type=positive_int, nargs="+", default=None,
                   help="grid bins, one number or one per CV (default 100, 60, 24 for 1, 2, 3 CVs)")
    a.add_argument("--range", dest="ranges", nargs=2, type=float, action="append", default=None,
                   metavar=("LO", "HI"), help="grid extent of one CV, repeated once per CV in order "
                   "(default: the data range); must cover every sample")
    a.add_argument("--cv-units", default="CV units", help="units of the CVs, recorded in the output")
    a.add_argument("--statistical-inefficiency", type=float, default=1.0, metavar="G",
                   help="correlated samples: variances are multiplied by G >= 1 (default 1: independent samples)")
    a.add_argument("--discrete", choices=("auto", "yes", "no"), default="auto",
                   help="integer CVs (shell counts) get one cell per integer and the PMF of the counts: 'auto' "
                   "(default) when a column holds only integers with at most 50 distinct values")
    a.add_argument("--bandwidth", type=positive_float, nargs="+", default=None,
                   help="KDE bandwidth per CV in CV units (default: Scott's rule)")
    a.add_argument("--seed", type=int, default=0, help="seed of the GP subset and the NN ensemble")
    o = p.add_argument_group("output")
    o.add_argument("-o", "--output", required=True, metavar="NPZ", help="output .npz file")
    o.add_argument("--plot", default=None, metavar="PNG", help="also save a contour plot (1-D or 2-D)")
    o.add_argument("--unit", choices=("kJ/mol", "kT"), default="kJ/mol",
                   help="energy unit of the printed minima and of the plot (default kJ/mol; the .npz holds both)")
    p.set_defaults(func=run)


def read_array(path: str, what: str) -> tuple[np.ndarray, list[str] | None]:
    """Read a .npy array or a delimited text file (optional header); returns (array, column names)."""
    if not os.path.exists(path):
        raise OSError(f"The {what} file '{path}' does not exist.")
    if path.lower().endswith(".npy"):
        try:
            return np.asarray(np.load(path, allow_pickle=False), dtype=np.float64), None
        except (ValueError, OSError) as exc:
            raise ValueError(f"The {what} file '{path}' cannot be read as a numeric .npy array: {exc}") from None
    n_comments = 0
    with open(path, encoding="utf-8") as fh:
        first = fh.readline()
        while first.lstrip().startswith("#"):  # a provenance line of another trajml command's CSV
            n_comments += 1
            first = fh.readline()
    delimiter = "," if "," in first else None
    tokens = [t.strip() for t in (first.split(",") if delimiter else first.split())]
    names = None
    try:
        [float(t) for t in tokens if t]
        skip = 0
    except ValueError:
        names, skip = tokens, 1
    try:
        data = np.loadtxt(path, delimiter=delimiter, skiprows=n_comments + skip, ndmin=2, comments="#")
    except ValueError as exc:
        where = _first_non_number(path, delimiter, n_comments + skip, names)
        raise ValueError(f"The {what} file '{path}' must hold numbers, one sample per line: "
                         f"{where or exc}") from None
    return data, names


def _first_non_number(path: str, delimiter: str | None, skip: int, names: list[str] | None) -> str | None:
    """Where a text file first holds something that is not a number: 'line L, column C (name): 'token''."""
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            text = line.split("#", 1)[0].strip()
            if lineno <= skip or not text:
                continue
            for col, tok in enumerate(t.strip() for t in (text.split(delimiter) if delimiter else text.split())):
                try:
                    float(tok)
                except ValueError:
                    label = f" ({names[col]})" if names and col < len(names) else ""
                    return f"line {lineno}, column {col}{label} holds {tok!r}, not a number"
    return None


def _check_columns(data: np.ndarray, names: list[str] | None, path: str) -> None:
    """Refuse constant columns: a CV that never changes has no free-energy profile."""
    for k in range(data.shape[1]):
        col = data[:, k]
        finite = col[np.isfinite(col)]
        if len(finite) > 1 and np.all(finite == finite[0]):
            label = f" ({names[k]})" if names and k < len(names) else ""
            raise ValueError(f"Column {k}{label} of the CVS file '{path}' is constant (every sample is "
                             f"{finite[0]:g}): it has no free-energy profile. Leave it out with --columns.")


def run(args: argparse.Namespace) -> int:
    """Run ``trajml fes``."""
    from trajml.fes import estimator, find_minima

    data, names = read_array(args.cvs, "CVS")
    if data.ndim == 1:
        data = data[:, None]
    if data.ndim != 2:
        raise ValueError(f"The CVS file '{args.cvs}' must hold a 1-D or 2-D array (samples x CVs). "
                         f"Got shape {data.shape}.")
    if args.columns is not None:
        bad = [c for c in args.columns if not -data.shape[1] <= c < data.shape[1]]
        if bad:
            raise ValueError(f"--columns {bad} out of range: the CVS file has {data.shape[1]} column(s).")
        data = data[:, args.columns]
        names = [names[c] for c in args.columns] if names else None
    _check_columns(data, names, args.cvs)
    weights = None
    if args.weights is not None:
        weights, _ = read_array(args.weights, "weights")
        weights = np.squeeze(weights)
        if weights.ndim != 1:
            raise ValueError(f"The weights file '{args.weights}' must hold one column. Got shape {weights.shape}.")
    params: dict[str, Any] = {"temperature": args.temperature, "cv_units": args.cv_units,
                              "statistical_inefficiency": args.statistical_inefficiency}
    params["discrete"] = {"auto": "auto", "yes": True, "no": False}[args.discrete]
    if args.bins is not None:
        params["bins"] = args.bins[0] if len(args.bins) == 1 else tuple(args.bins)
    if args.ranges is not None:
        params["ranges"] = [tuple(r) for r in args.ranges]
    if args.method in ("gp", "nn"):
        params["seed"] = args.seed
    if args.bandwidth is not None:
        if args.method != "kde":
            raise ValueError("--bandwidth applies to --method kde only.")
        params["bandwidth"] = args.bandwidth[0] if len(args.bandwidth) == 1 else list(args.bandwidth)
    model = estimator(args.method, **params).fit(data, weights=weights).fetch_model()
    mins = find_minima(model)
    arrays: dict[str, Any] = {
        "method": np.array(model.method), "temperature_K": np.array(model.temperature_K),
        "kT_kJmol": np.array(model.kT_kJmol), "cv_units": np.array(model.cv_units),
        "cv_names": np.array(names if names else [f"cv{k}" for k in range(model.ndim)]),
        "free_energy_kJmol": model.free_energy_kJmol, "uncertainty_kJmol": model.uncertainty_kJmol,
        "free_energy_kT": model.free_energy_kT, "uncertainty_kT": model.uncertainty_kT,
        "minima": mins.points, "minima_free_energy_kJmol": mins.free_energy_kJmol,
        "minima_uncertainty_kJmol": mins.uncertainty_kJmol, "n_samples": np.array(model.n_samples),
    }
    for k in range(model.ndim):
        arrays[f"axis_{k}"] = model.axes[k]
        arrays[f"edges_{k}"] = model.edges[k]
    units = {"temperature_K": "K", "kT_kJmol": "kJ/mol", "free_energy_kJmol": "kJ/mol",
             "uncertainty_kJmol": "kJ/mol", "free_energy_kT": "kT", "uncertainty_kT": "kT", "minima": model.cv_units,
             "minima_free_energy_kJmol": "kJ/mol", "minima_uncertainty_kJmol": "kJ/mol",
             **{f"axis_{k}": model.cv_units for k in range(model.ndim)},
             **{f"edges_{k}": model.cv_units for k in range(model.ndim)}}
    arrays["units"] = np.array(json.dumps(units))
    arrays["provenance"] = np.array(json.dumps(provenance(args)))
    atomic_savez(args.output, arrays)
    if args.plot:
        _use_agg()
        from trajml.plotting import plot_fes

        if model.ndim <= 2:
            save_plot(plot_fes(model, unit=args.unit, minima=mins,
                               cv_labels=[f"{n} ({model.cv_units})" for n in names] if names else None),
                      args.plot, args)
        else:
            print("--plot: a 3-CV surface is not plotted (project it first).", file=sys.stderr)
    kT = model.kT_kJmol
    print(f"{model.method}: {model.n_samples} samples, {model.ndim} CV(s), grid {model.free_energy_kJmol.shape}, "
          f"T = {model.temperature_K:g} K (kT = {kT:.4g} kJ/mol) -> {args.output}")
    # one energy unit for the table and the plot (--unit)
    scale = 1.0 if args.unit == "kJ/mol" else 1.0 / kT
    for k in range(min(len(mins.points), 5)):
        pt = ", ".join(f"{v:.4g}" for v in mins.points[k])
        print(f"  minimum {k} ({chr(ord('A') + k)}): ({pt}) F = {mins.free_energy_kJmol[k] * scale:.3f} "
              f"± {mins.uncertainty_kJmol[k] * scale:.3f} {args.unit}")
    return 0
