"""Transport from trajectories: MSD, diffusion, conductivity and transference, residence times.

Time-correlation analyses need each particle's whole time series, so they are
partitioned over particles instead of frames: the trajectory is streamed once
into a particle-major on-disk store (:mod:`trajml.transport.store`), then tasks
correlate blocks of particles in parallel.

Names load on first use, so ``import trajml.transport`` stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trajml._lazy import lazy_exports

_LAZY = {
    "MSD": "trajml.transport.msd",
    "MSDResults": "trajml.transport.msd",
    "Diffusion": "trajml.transport.diffusion",
    "DiffusionResults": "trajml.transport.diffusion",
    "local_loglog_slope": "trajml.transport.diffusion",
    "ResidenceTime": "trajml.transport.residence",
    "ResidenceResults": "trajml.transport.residence_results",
    "LifetimeFit": "trajml.transport.lifetimes",
    "residence_times": "trajml.transport.residence",
    "ion_pair_lifetimes": "trajml.transport.residence",
    "fit_stretched_exponential": "trajml.transport.lifetimes",
    "tcf_from_series": "trajml.transport.contact_tcf",
    "Conductivity": "trajml.transport.conductivity",
    "ConductivityResults": "trajml.transport.conductivity_results",
    "nernst_einstein_conductivity": "trajml.transport.nernst_einstein",
    "arrhenius_fit": "trajml.transport.temperature_series",
    "vft_fit": "trajml.transport.temperature_series",
    "ArrheniusFit": "trajml.transport.temperature_series",
    "VFTFit": "trajml.transport.temperature_series",
}

__all__ = sorted(_LAZY)

if TYPE_CHECKING:  # pragma: no cover
    from trajml.transport.conductivity import Conductivity
    from trajml.transport.conductivity_results import ConductivityResults
    from trajml.transport.contact_tcf import tcf_from_series
    from trajml.transport.diffusion import Diffusion, DiffusionResults, local_loglog_slope
    from trajml.transport.lifetimes import LifetimeFit, fit_stretched_exponential
    from trajml.transport.msd import MSD, MSDResults
    from trajml.transport.nernst_einstein import nernst_einstein_conductivity
    from trajml.transport.residence import ResidenceTime, ion_pair_lifetimes, residence_times
    from trajml.transport.residence_results import ResidenceResults
    from trajml.transport.temperature_series import ArrheniusFit, VFTFit, arrhenius_fit, vft_fit

__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())
