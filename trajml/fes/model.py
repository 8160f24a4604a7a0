"""The fitted free-energy surface: a grid table plus an evaluator that predicts anywhere."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from trajml._validation import invalid
from trajml.fes._grid import Grid
from trajml.results import Results, _plain
from trajml.results import read_only as _ro
from trajml.store.models import StoredModel

__all__ = ["FESModel", "make_model"]

_UNITS_OK = ("kJ/mol", "kT")


@dataclass(frozen=True, eq=False, kw_only=True)
class FESModel(Results, StoredModel, own_file=True):
    """A free-energy surface F(x) on 1-3 collective variables, with its uncertainty.

    Free energies are relative: the lowest value on the grid is 0. Every method takes and
    returns CVs in the user's own units (``cv_units``); free energies come in kJ/mol
    (``unit="kJ/mol"``, the default) or in units of kT (``unit="kT"``).

    Attributes
    ----------
    method : str
        "hist", "kde", "gp" or "nn".
    temperature_K : float
        Temperature in K.
    kT_kJmol : float
        k_B T in kJ/mol.
    cv_units : str
        Units of the CVs (as the user gave them).
    axes : tuple of ndarray
        Grid bin centres per CV, CV units.
    edges : tuple of ndarray
        Grid bin edges per CV, CV units.
    free_energy_kJmol : ndarray, grid shape, float64
        F at the bin centres in kJ/mol, minimum 0; inf where the estimator has no estimate
        (empty histogram bins).
    uncertainty_kJmol : ndarray, grid shape, float64
        One standard deviation of F at the bin centres in kJ/mol (pointwise, relative to the
        surface's normalisation).
    n_samples : int
        Samples (or regression points) fitted.
    n_effective : float
        Effective sample size (Kish, divided by the statistical inefficiency).
    surface : object
        NumPy evaluator behind :meth:`predict` (internal; not part of the table output).
    offset_kT : float
        Constant subtracted from the evaluator's f = F/kT so that the grid minimum is 0.
    """

    method: str
    temperature_K: float
    kT_kJmol: float
    cv_units: str
    axes: tuple[np.ndarray, ...]
    edges: tuple[np.ndarray, ...]
    free_energy_kJmol: np.ndarray
    uncertainty_kJmol: np.ndarray
    n_samples: int
    n_effective: float
    surface: Any = field(repr=False)
    offset_kT: float = 0.0

    # ------------------------------------------------------------------ Results plumbing
    def to_dict(self) -> dict[str, Any]:
        """Plain-Python view of the grid result (the evaluator is left out)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            if f.name not in ("units", "provenance", "replicas", "surface"):
                out[f.name] = _plain(getattr(self, f.name))
        return out

    def _computed(self) -> dict[str, Any]:
        d = super()._computed()
        d.pop("surface", None)
        for k, a in enumerate(self.axes):
            d[f"axis_{k}"] = a
        d.pop("axes", None)
        d.pop("edges", None)
        return d

    @property
    def _DIMS(self) -> dict[str, tuple[str, ...]]:  # type: ignore[override]
        # the grid's dimensions are named after the CV axes, which are the coordinates
        axes = tuple(f"axis_{k}" for k in range(len(self.axes)))
        return {"free_energy_kJmol": axes, "uncertainty_kJmol": axes, **{a: (a,) for a in axes}}

    # ------------------------------------------------------------------ grid views
    @property
    def ndim(self) -> int:
        """Number of CVs."""
        return len(self.axes)

    @property
    def free_energy_kT(self) -> np.ndarray:
        """F at the bin centres in units of kT, grid shape."""
        return self.free_energy_kJmol / self.kT_kJmol

    @property
    def uncertainty_kT(self) -> np.ndarray:
        """One standard deviation of F at the bin centres in units of kT, grid shape."""
        return self.uncertainty_kJmol / self.kT_kJmol

    def grid_points(self) -> np.ndarray:
        """Bin centres as rows, shape (n_bins, d), CV units, in the C order of the grid arrays."""
        return Grid(self.edges).points()

    # ------------------------------------------------------------------ evaluation anywhere
    def _points(self, x: Any, name: str = "x") -> np.ndarray:
        a = np.asarray(x, dtype=np.float64)
        if a.ndim == 0 or (a.ndim == 1 and self.ndim > 1):
            a = a.reshape(1, -1) if a.ndim == 1 else a.reshape(1, 1)
        if a.ndim == 1:
            a = a[:, None]
        if a.ndim != 2 or a.shape[1] != self.ndim:
            raise ValueError(f"The '{name}' parameter of FESModel.predict must have shape (n, {self.ndim}) "
                             f"(one column per CV). Got shape {np.shape(x)} instead.")
        if not np.all(np.isfinite(a)):
            raise ValueError(f"The '{name}' parameter of FESModel.predict must be finite.")
        return a

    def _scale(self, unit: str) -> float:
        if unit not in _UNITS_OK:
            raise invalid("unit", "FESModel", f"one of {list(_UNITS_OK)}", unit)
        return self.kT_kJmol if unit == "kJ/mol" else 1.0

    @property
    def discrete(self) -> np.ndarray:
        """Which CVs are discrete (one cell per integer), shape (d,) bool."""
        flags = (self.provenance or {}).get("discrete") or []
        return np.array(list(flags) if len(flags) == self.ndim else [False] * self.ndim, dtype=bool)

    @property
    def discrete_cvs(self) -> np.ndarray:
        """Which CVs are drawn and searched as integer states, shape (d,) bool: :attr:`discrete`, or
        every CV of a surface of counted cells."""
        from trajml.fes.surfaces import CellSurface

        if isinstance(self.surface, CellSurface):
            return np.ones(self.ndim, dtype=bool)
        return self.discrete

    def _on_states(self, pts: np.ndarray) -> np.ndarray:
        # a discrete CV only takes integer values: a point between them belongs to its cell's state
        disc = self.discrete
        if disc.any():
            pts = pts.copy()
            pts[:, disc] = np.round(pts[:, disc])
        return pts

    def predict(self, x: Any, return_std: bool = False, unit: str = "kJ/mol") -> Any:
        """Free energy at arbitrary points.

        Parameters
        ----------
        x : array_like, shape (n, d) (or (n,) for one CV), CV units
            Points to evaluate.
        return_std : bool
            Also return one standard deviation of F.
        unit : {"kJ/mol", "kT"}
            Energy unit of the output.

        Returns
        -------
        F : ndarray, shape (n,)
            Free energy relative to the grid minimum (NaN outside a histogram's grid, inf
            in its empty bins). On a discrete CV a point takes the value of its integer cell.
        std : ndarray, shape (n,), only with ``return_std``
        """
        pts = self._on_states(self._points(x))
        f, var = self.surface.values(pts)
        s = self._scale(unit)
        F = (f - self.offset_kT) * s
        return (F, np.sqrt(var) * s) if return_std else F

    def gradient(self, x: Any, unit: str = "kJ/mol") -> np.ndarray:
        """∇F at arbitrary points, shape (n, d), in kJ/mol (or kT) per CV unit. The mean force is −∇F."""
        g = self.surface.gradient(self._on_states(self._points(x))) * self._scale(unit)
        g[:, self.discrete] = np.nan  # no derivative along integer states
        return g

    def sample_surfaces(self, x: Any, n: int = 200, seed: int = 0, unit: str = "kJ/mol") -> np.ndarray:
        """Surfaces drawn from the estimator's uncertainty at the points ``x``, jointly.

        Differences between points of one draw keep their correlations (used for barrier and
        basin uncertainties). The NN ensemble returns its members (``n`` is ignored).

        Returns
        -------
        ndarray, shape (n_draws, len(x)), kJ/mol (or kT), relative to this model's offset
        """
        pts = self._on_states(self._points(x))
        return (self.surface.draws(pts, int(n), np.random.default_rng(seed)) - self.offset_kT) * self._scale(unit)

    # ------------------------------------------------------------------ files
    def save(self, path: Any) -> None:
        """Write the model to an ``.npz`` file (see :func:`trajml.store.save_fes`)."""
        from trajml.store.fes import save_fes

        save_fes(self, path)

    @classmethod
    def load(cls, path: Any) -> "FESModel":
        """Read a model written by :meth:`save`; predictions are identical."""
        from trajml.store.fes import load_fes

        return load_fes(path)

    # ------------------------------------------------------------------ analysis shortcuts
    def minima(self, **kwargs: Any) -> Any:
        """Local minima of the surface; see :func:`trajml.fes.paths.find_minima`."""
        from trajml.fes.paths import find_minima

        return find_minima(self, **kwargs)

    def minimum_path(self, start: Any, end: Any, **kwargs: Any) -> Any:
        """Minimum free-energy path between two points; see :func:`trajml.fes.paths.minimum_path`."""
        from trajml.fes.paths import minimum_path

        return minimum_path(self, start, end, **kwargs)

    def basins(self, minima: Any = None, **kwargs: Any) -> Any:
        """Basins and their free energies; see :func:`trajml.fes.paths.basin_free_energies`."""
        from trajml.fes.paths import basin_free_energies

        return basin_free_energies(self, minima, **kwargs)


def make_model(method: str, temperature_K: float, kT: float, grid: Grid, surface: Any, *, cv_units: str,
               n_samples: int, n_effective: float, provenance: dict[str, Any]) -> FESModel:
    """Tabulate ``surface`` on ``grid``, shift its minimum to 0 and freeze it into a model."""
    pts = grid.points()
    f, var = surface.values(pts)
    finite = np.isfinite(f)
    if not finite.any():
        raise ValueError(f"The {method} estimate has no finite free energy on the grid.")
    offset = float(np.min(f[finite]))
    F = np.where(finite, (f - offset) * kT, np.inf).reshape(grid.shape)
    S = np.where(finite, np.sqrt(np.maximum(var, 0.0)) * kT, np.inf).reshape(grid.shape)
    units = {"temperature_K": "K", "kT_kJmol": "kJ/mol", "axes": cv_units, "edges": cv_units,
             "free_energy_kJmol": "kJ/mol", "uncertainty_kJmol": "kJ/mol", "n_samples": "", "n_effective": "",
             "offset_kT": "kT"}
    units.update({f"axis_{k}": cv_units for k in range(grid.ndim)})
    return FESModel(method=method, temperature_K=float(temperature_K), kT_kJmol=float(kT), cv_units=cv_units,
                    axes=tuple(_ro(a) for a in grid.axes), edges=tuple(_ro(e) for e in grid.edges),
                    free_energy_kJmol=_ro(F), uncertainty_kJmol=_ro(S), n_samples=int(n_samples),
                    n_effective=float(n_effective), surface=surface, offset_kT=offset, units=units,
                    provenance=provenance)
