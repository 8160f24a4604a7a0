"""Free-energy surfaces on 1-3 collective variables, with uncertainty, paths and barriers.

Estimators (deeptime/scikit-learn style: ``Estimator(params).fit(cvs, weights=None).fetch_model()``):

- :class:`HistogramFES`: −kT ln of the bin-integrated probability, Poisson error bars;
- :class:`KernelDensityFES`: weighted Gaussian KDE;
- :class:`GaussianProcessFES`: sparse (inducing-point) Gaussian process, Poisson likelihood of
  the bin counts for samples, or Gaussian regression of given free energies; NumPy/SciPy only;
- :class:`NeuralNetworkFES`: ensemble of small MLPs fitted to the counts, to free energies and/or
  to mean forces (trains with PyTorch, the ``deep`` extra; predicts with NumPy).

Each returns a :class:`FESModel`: the grid table in kJ/mol (and kT), and F, its standard
deviation and ∇F anywhere. On a model: :func:`find_minima`, :func:`minimum_path` (string method,
barriers with uncertainties) and :func:`basin_free_energies`. :func:`trajml.plotting.plot_fes` draws
a model, :func:`trajml.store.save_fes` / :func:`trajml.store.load_fes` (or ``FESModel.save`` / ``.load``)
write and read it.

CVs are in the user's own units (Li–O coordination number, a distance in Å, a VAMPnet state
probability, ...; :func:`stack_cvs` pools per-frame, per-Li⁺ featurizer arrays into samples);
free energies in kJ/mol with k_B = 0.00831446261815324 kJ/mol/K.
Modules: the estimators (:mod:`~trajml.fes.histogram`, :mod:`~trajml.fes.kde`, :mod:`~trajml.fes.gp`,
:mod:`~trajml.fes.nn`), the frozen model (:mod:`~trajml.fes.model`), the evaluators behind it
(:mod:`~trajml.fes.surfaces`), minima, paths and basins (:mod:`~trajml.fes.paths`) and CV samples
(:mod:`~trajml.fes.cvs`).
Names are imported lazily: ``import trajml.fes`` does not import torch or matplotlib.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trajml._lazy import lazy_exports

_EXPORTS = {
    "HistogramFES": "histogram", "KernelDensityFES": "kde", "GaussianProcessFES": "gp",
    "NeuralNetworkFES": "nn", "FESModel": "model", "Minima": "paths", "MinimumPath": "paths", "Basins": "paths",
    "find_minima": "paths", "minimum_path": "paths", "basin_free_energies": "paths",
    "estimator": "_factory", "KB_KJ_MOL_K": "_validate", "stack_cvs": "cvs",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:  # pragma: no cover
    from trajml.fes._factory import estimator
    from trajml.fes._validate import KB_KJ_MOL_K
    from trajml.fes.cvs import stack_cvs
    from trajml.fes.gp import GaussianProcessFES
    from trajml.fes.histogram import HistogramFES
    from trajml.fes.kde import KernelDensityFES
    from trajml.fes.model import FESModel
    from trajml.fes.nn import NeuralNetworkFES
    from trajml.fes.paths import Basins, Minima, MinimumPath, basin_free_energies, find_minima, minimum_path

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
