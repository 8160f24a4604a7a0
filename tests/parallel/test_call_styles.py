"""Every call style that exists works, and the wrong one names the right one."""

from __future__ import annotations

import numpy as np
import pytest

from trajml.errors import WrongCallError
from trajml.features import RDF, ShellCounts
from trajml.io import open_source
from trajml.parallel import run
from trajml.transport import MSD, Diffusion


@pytest.fixture(scope="module")
def src():
    from trajml.data import sample_topology, sample_trajectory

    return open_source(sample_topology(), sample_trajectory())


def test_run_and_run_sugar_agree(src):
    a = run(RDF("name Li", "name O", r_max=10.0, n_bins=50), src, stop=20)
    b = RDF("name Li", "name O", r_max=10.0, n_bins=50).run(src, stop=20)
    np.testing.assert_array_equal(a.g, b.g)
    c = run(MSD("name Li"), src, stop=50)
    np.testing.assert_array_equal(c.msd_A2, MSD("name Li").run(src, stop=50).msd_A2)
    # the former call styles keep working
    (x,) = ShellCounts("name Li", {"O": "name O"}, radii=(6.0,)).compute(src, stop=5)
    assert x.shape == (5, 60, 1)


@pytest.mark.parametrize("call, message", [
    (lambda s: RDF("name Li").compute(s), r"RDF is an analysis: it has no 'compute' method\. Call RDF\(\.\.\.\)\.run"),
    (lambda s: MSD("name Li").fit(s), r"MSD is an analysis: it has no 'fit' method"),
    (lambda s: Diffusion().run(s), r"Diffusion is an estimator: it has no 'run' method\. Call "
                                   r"Diffusion\(\.\.\.\)\.fit\(data\)\.fetch_model\(\)"),
    (lambda s: run(Diffusion(), s), r"Diffusion is an estimator, not an analysis of a trajectory"),
    (lambda s: run(s, RDF("name Li")), r"takes the analysis first: run\(RDF\(\.\.\.\), source\)"),
    (lambda s: run(RDF, s), r"needs an instance: run\(RDF\(\.\.\.\), source\)"),
    (lambda s: run("rdf", s), r"runs a trajml analysis \(RDF, MSD, Conductivity, \.\.\.\); got str"),
])
def test_the_wrong_call_names_the_right_one(src, call, message):
    with pytest.raises(WrongCallError, match=message):
        call(src)


def test_a_wrong_call_is_still_an_attribute_or_type_error(src):
    with pytest.raises(AttributeError):
        RDF("name Li").compute(src)
    with pytest.raises(TypeError):
        run(Diffusion(), src)
    with pytest.raises(AttributeError, match="has no attribute 'nonsense'"):
        RDF("name Li").nonsense  # noqa: B018


def test_print_never_dumps_arrays(src):
    res = RDF("name Li", "name O").run(src, stop=10)
    text = repr(res)
    assert text.startswith("RDFResults(") and "first_min_r=" in text and " Å" in text
    assert "\n" not in text and len(text) < 400 and "arrays: edges(151,)" in text
    fit = Diffusion().fit(MSD("name Li").run(src)).fetch_model()
    assert "D_A2_ps=" in repr(fit) and "Å^2/ps" in repr(fit)
    assert repr(RDF("name Li", r_max=12.0)) == "RDF(select_a='name Li', r_max=12.0)"
