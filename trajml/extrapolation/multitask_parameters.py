"""The parameters of :class:`~trajml.extrapolation.deep.MultitaskExtrapolator`, declared without torch.

The command line (``trajml extrapolate train``) builds its options from this declaration without
importing torch. The defaults are written here and in the estimator's ``__init__`` signature; a
disagreement fails when the class is defined (:class:`trajml.base.Parameterized`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from trajml._torch import DEVICE
from trajml._validation import Param

__all__ = ["MULTITASK_PARAMETERS", "LOW_INPUTS", "CALIBRATIONS", "SHORT_RUN_WEIGHTS"]

#: How the predicted std is calibrated (see :mod:`trajml.extrapolation.deep.calibration`).
CALIBRATIONS = ("cross-fit", "cross-fit-refit", "validation", "none")

#: How the weight of a measured short run is taken from held-out long-run labels.
SHORT_RUN_WEIGHTS = ("lower-bound", "least-squares")

#: What the high-fidelity head can be fed.
LOW_INPUTS = ("observed", "predicted")
_LOW_INPUTS = LOW_INPUTS


def _prior(value: Any) -> float | str:
    """A ``Param`` check: a float >= 0 (``math.inf`` included) or ``'auto'``; returned as given."""
    if isinstance(value, str) and value == "auto":
        return value
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or math.isnan(value) or value < 0:
        raise ValueError("'auto' or a float >= 0 ('inf': the linear correction)")
    return value


#: The declaration, defaults included (``MultitaskExtrapolator.__init__`` must agree: checked when it is defined).
MULTITASK_PARAMETERS: dict[str, Param] = {
    "hidden": Param("int", 64, help="width of the graph layers, the embedding and the heads", minimum=1),
    "n_layers": Param("int", 3, help="graph convolutions", minimum=0, aliases=("--layers",)),
    "epochs": Param("int", 300, help="maximum passes over the training rows", minimum=1),
    "lr": Param("float", 3e-3, help="Adam learning rate", positive=True),
    "weight_decay": Param("float", 1e-5, help="Adam L2 penalty", minimum=0.0),
    "batch_size": Param("int", 64, help="rows per mini-batch", minimum=1),
    "low_weight": Param("float", 1.0, help="weight of the low-fidelity loss", minimum=0.0),
    "n_models": Param("int", 5, help="ensemble members", minimum=1, aliases=("--ensemble",)),
    "heteroscedastic": Param("bool", False, help="heads predict a log variance too (Gaussian NLL)"),
    "residual": Param("bool", True, help="long-run value = linear map of the blended short-run value + correction",
                      aliases=("--absolute",)),
    "correction_prior": Param("any", "auto", help="strength (pseudo-rows) of the zero-mean prior on the correction",
                              describe="'auto' or a float >= 0 ('inf': the linear correction)", check=_prior,
                              metavar="ROWS|auto"),
    "low_input": Param("str", "observed", help="what the high-fidelity head is fed", choices=_LOW_INPUTS),
    "low_dropout": Param("float", 0.3, help="probability of feeding the prediction instead of the measured value",
                         minimum=0.0, high=1.0, high_closed=True),
    "short_run_noise": Param("float", None, help="std of one short run's value (task units, from replicate runs): "
                             "weighs a measured short-run value by it", positive=True, nullable=True,
                             none_help="estimate the weight from held-out long-run labels"),
    "short_run_weight": Param("str", "lower-bound", help="without short_run_noise, the weight of a measured "
                              "short-run value from the held-out long-run labels: one standard error below their "
                              "least-squares weight (never trusts the value further than those rows show it "
                              "helps), or the least-squares weight itself", choices=SHORT_RUN_WEIGHTS),
    "calibration": Param("str", "cross-fit", help="how the predicted std is calibrated: on out-of-member residuals "
                         "of cross-fitted members ('cross-fit'; 'cross-fit-refit': then refit the members on every "
                         "long-run label, twice the training), on the validation set, or not at all",
                         choices=CALIBRATIONS),
    "validation_fraction": Param("float", 0.1, help="share of the rows held out for early stopping", minimum=0.0,
                                 high=1.0),
    "patience": Param("int", 50, help="epochs without a better validation loss before stopping", minimum=1,
                      nullable=True, none_help="never stop early"),
    "n_workers": Param("int", 1, help="processes of the correction-prior search", minimum=1, nullable=True,
                       none_help="one per CPU core"),
    "seed": Param("int", 0, help="seed of weights, splits and shuffling (member k: seed + k)", minimum=0),
    "device": DEVICE.replace(default="cpu"),
    "progress": Param("bool", False, help="progress bar over epochs", cli=False),
}
