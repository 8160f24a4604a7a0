"""Checks of a kinetic analysis's inputs before any model is fitted: the lag against the trajectories,
and the training budget of the graph model against the system.

Each message names its fix in the caller's syntax (``lag=4`` in Python, ``--lag 4`` on the command
line; :mod:`trajml._fixes`).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

from trajml._fixes import cli_text, with_cli_text
from trajml.errors import InvalidParameterError

__all__ = ["check_lag", "check_training_budget", "MIN_TRAINING_STEPS"]

#: Optimizer steps below which a graph VAMPNet rarely learns distinct states (GDyNet-style models
#: train for thousands of steps on 10⁴–10⁵ frame pairs; the demo's 190 steps gave three copies of
#: one shell).
MIN_TRAINING_STEPS = 1000


def _warn(template: str, **fixes: Any) -> None:
    """Warn with ``template``'s fixes as keywords; the warning also carries its command-line wording
    (``cli_message``) and its pipeline-YAML wording (``yaml_message``, ``key: value``)."""
    python, cli = cli_text(template, **fixes)
    message = with_cli_text(UserWarning(python), cli)
    yaml = template
    for name, value in fixes.items():
        yaml = yaml.replace("{" + name + "}", f"{name}: {value}")
    message.yaml_message = yaml  # type: ignore[attr-defined]
    warnings.warn(message, stacklevel=4)


def check_lag(lag: int, lengths: Sequence[int], owner: str, dt_ps: float) -> None:
    """Refuse a lag that no trajectory spans; warn when it exceeds a quarter of the shortest one.

    Parameters
    ----------
    lag : int
        Model lag in analysed frames.
    lengths : sequence of int
        Analysed frames of each trajectory.
    owner : str
        Who checks (named in the message).
    dt_ps : float
        Time between analysed frames in ps.

    Raises
    ------
    InvalidParameterError
        ``lag`` is not shorter than the shortest trajectory (no transition would fit in it).
    """
    shortest = int(min(lengths))
    fix = max(1, shortest // 4)
    what = f"{lag} frames ({lag * dt_ps:g} ps)"
    if lag >= shortest:
        tail = (f"shorter than the shortest trajectory analysed ({shortest} frames): no transition fits in it. Give "
                "a lag of at most a quarter of it, {lag}, or analyse more frames (start/stop/step).")
        python, cli = cli_text(f"The 'lag' parameter of {owner} must be " + tail + f" Got {what} instead.", lag=fix)
        cli = cli_text("argument --lag: must be " + tail.replace("start/stop/step", "--start/--stop/--step")
                       + f" Got {what} instead.", lag=fix)[1]
        err = InvalidParameterError(python, parameter="lag", owner=owner,
                                    constraint=f"shorter than the shortest trajectory ({shortest} frames)", value=lag)
        raise with_cli_text(err, cli)
    if 4 * lag > shortest:
        _warn(f"The lag of {owner}, {what}, is longer than a quarter of the shortest trajectory analysed "
              f"({shortest} frames): few transitions fit in it, so the transition counts, the Chapman–Kolmogorov "
              "test at its multiples and every interval rest on little data. Give {lag} or less, or analyse more "
              "frames.", lag=fix)


def check_training_budget(n_pairs: int, epochs: int, batch_size: int, owner: str) -> int:
    """Warn when a graph VAMPNet would take fewer than :data:`MIN_TRAINING_STEPS` optimizer steps.

    Parameters
    ----------
    n_pairs : int
        Time-lagged frame pairs the model trains on (Σ over trajectories of frames − lag).
    epochs, batch_size : int
        Passes over the pairs, and pairs per optimizer step.
    owner : str
        Who checks (named in the message).

    Returns
    -------
    int
        The optimizer steps the training will take.
    """
    per_epoch = max(1, math.ceil(n_pairs / batch_size))
    steps = epochs * per_epoch
    if steps < MIN_TRAINING_STEPS:
        need = math.ceil(MIN_TRAINING_STEPS / per_epoch)
        _warn(
            f"The graph model of {owner} will train for only {steps} optimizer steps ({epochs} epochs × "
            f"{per_epoch} batches of {batch_size} frame pairs out of {n_pairs}); graph VAMPNets need about "
            f"{MIN_TRAINING_STEPS} or more to learn states that differ, and with fewer they give copies of one "
            "state. Give {epochs} (or more frames), or use {model}, which needs no training.",
            epochs=need, model="tica")
    return steps
