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
barriers with uncertainties) and :func:`basin_free_energies`; :func:`plot_fes` draws it.

CVs are in the user's own units (Li–O coordination number, a distance in Å, a VAMPnet state
probability, ...; :func:`stack_cvs` pools per-frame, per-Li⁺ featurizer arrays into samples);
free energies in kJ/mol with k_B = 0.00831446261815324 kJ/mol/K.
Names are imported lazily: ``import trajml.models.fes`` does not import torch or matplotlib.
"""

from __future__ import annotations

from trajml._lazy import lazy_exports

_EXPORTS = {
    "HistogramFES": "histogram", "KernelDensityFES": "kde", "GaussianProcessFES": "gp",
    "NeuralNetworkFES": "nn", "FESModel": "model", "Minima": "paths", "MinimumPath": "paths", "Basins": "paths",
    "find_minima": "paths", "minimum_path": "paths", "basin_free_energies": "paths", "plot_fes": "plots",
    "plot_path_profile": "plots", "estimator": "_factory", "KB_KJ_MOL_K": "_validate", "stack_cvs": "cvs",
    "save_fes": "io", "load_fes": "io",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
