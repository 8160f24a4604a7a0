"""The MDAKit-style front end: AtomGroups in, ``run(start, stop, step)`` returns self, the same engine underneath."""

from __future__ import annotations

import warnings

import pytest

import trajml.mda as tmda
from tests.same_results import assert_same_results
from trajml.features import RDF, Coordination
from trajml.io import open_source
from trajml.transport import MSD

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import MDAnalysis as mda


@pytest.fixture()
def u(sample):
    return mda.Universe(*sample)


def test_front_end_results_equal_the_path_and_string_route(sample, u):
    src = open_source(*sample)
    li, o = u.select_atoms("name Li"), u.select_atoms("name O")
    rdf = tmda.RDF(li, o, r_max=10.0, n_bins=40)
    assert rdf.run(start=2, stop=14, step=3) is rdf
    assert_same_results(rdf.results, RDF("name Li", "name O", r_max=10.0, n_bins=40).run(src, start=2, stop=14, step=3))
    assert rdf.results.provenance["frames"] == {"start": 2, "stop": 14, "step": 3}
    coord = tmda.Coordination(li, "name O", cutoff=3.0).run(stop=10, backend="multiprocessing", n_workers=2)
    assert_same_results(coord.results, Coordination("name Li", "name O", cutoff=3.0).run(src, stop=10))
    assert coord.results.provenance["scheduler"] == "processes"
    msd = tmda.MSD(li).run(stop=50)
    assert_same_results(msd.results, MSD("name Li").run(src, stop=50))
    assert "trajml.mda.MSD MSD(select=<AtomGroup of 60 atoms>)" in repr(msd)


def test_front_end_delegates_to_the_engine(u, monkeypatch):
    calls = []
    monkeypatch.setattr(tmda, "_run", lambda analysis, source, **kw: calls.append((analysis, source, kw)) or "R")
    rdf = tmda.RDF(u.select_atoms("name Li"), r_max=5.0)
    assert rdf.run(stop=4, verbose=False).results == "R"
    analysis, source, kw = calls[0]
    assert type(analysis) is RDF and source is u
    assert kw == {"start": 0, "stop": 4, "step": 1, "n_workers": None, "progress": False}


def test_front_end_misuse_names_the_fix(u, psf_dcd):
    with pytest.raises(TypeError, match=r"takes its Universe from its AtomGroups, and got none.*"
                       r"trajml\.features\.RDF\(\.\.\.\)\.run\(universe\)"):
        tmda.RDF("name Li", "name O")
    other = mda.Universe(*psf_dcd)
    with pytest.raises(ValueError, match=r"belong to 2 different Universes"):
        tmda.RDF(u.select_atoms("name Li"), other.select_atoms("name CA"))
    with pytest.raises(ValueError, match=r"r_max' parameter of RDF must be a float in \(0, inf\) Å"):
        tmda.RDF(u.select_atoms("name Li"), r_max=-1.0)
