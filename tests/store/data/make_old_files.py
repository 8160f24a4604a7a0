"""Write tiny model files with trajml at commit 88507b7 (before trajml.models was split)."""
import sys

import numpy as np

import trajml.models as M

assert M.__file__.startswith("/tmp/oldtrajml"), M.__file__
# The names below are imported only once the assert has shown that the old trajml is the one found.
from trajml.models import MarkovModel, TICAMarkovModel, TimeLaggedCovariance, save_model  # noqa: E402
from trajml.models.deep import VAMPNet  # noqa: E402
from trajml.models.fes import HistogramFES  # noqa: E402

out = sys.argv[1]
rng = np.random.default_rng(0)
x = [np.cumsum(rng.normal(size=(60, 2)), axis=0) * 0.1 for _ in range(2)]
save_model(TimeLaggedCovariance(2).fit(x).fetch_model(), f"{out}/CovarianceModel.npz")
d = [rng.integers(0, 3, size=80) for _ in range(2)]
save_model(MarkovModel(lag=1, dt_ps=2.0).fit(d).fetch_model(), f"{out}/MSMModel.npz")
save_model(TICAMarkovModel(lag=1, n_clusters=3, dt_ps=2.0, seed=0).fit(x).fetch_model(), f"{out}/TICAMSMModel.npz")
HistogramFES(bins=8, temperature=300.0).fit(rng.normal(size=400)).fetch_model().save(f"{out}/FESModel.npz")
VAMPNet(2, hidden=(3,), lag=1, epochs=1, batch_size=16, validation_fraction=0.0, seed=0).fit(x).fetch_model().save(
    f"{out}/VAMPNetModel.npz")
