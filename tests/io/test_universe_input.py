"""MDAnalysis interop: a Universe as the source and AtomGroups as selections.

The contract: a Universe and AtomGroups give exactly the results of the same files opened by
path and the same atoms selected by string, on every scheduler; what the files cannot reproduce
(in-memory coordinates, transformations, a topology changed after loading, an AtomGroup of another
Universe) is refused with a message naming the problem and the fix.
"""

from __future__ import annotations

import json
import pickle
import shutil
import warnings

import numpy as np
import pytest

from tests.same_results import assert_same_results
from trajml._validation import Param
from trajml.errors import EmptySelectionError, InvalidParameterError, IrregularTimeError, SelectionError
from trajml.features import RDF, Coordination
from trajml.io import open_source
from trajml.io.universe import UniverseNotReopenableError
from trajml.parallel import run
from trajml.selection import AtomGroupSelection, describe_selection, resolve_atoms
from trajml.transport import MSD

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import MDAnalysis as mda


@pytest.fixture()
def universe(sample):
    return mda.Universe(*sample)


# -- open_source(universe) ----------------------------------------------------------------------
def test_a_universe_gives_the_source_of_its_files(sample, universe):
    src, ref = open_source(universe), open_source(*sample)
    assert src.members == ref.members and src.fingerprint() == ref.fingerprint()
    again = pickle.loads(pickle.dumps(src))
    assert again.members == ref.members and len(pickle.dumps(src)) < 5000  # paths, not coordinates
    chunk = src.read(src.partition(4, stop=4)[0])
    universe.trajectory[3]
    np.testing.assert_array_equal(chunk.positions[3], universe.atoms.positions)


def test_a_chainreader_universe_gives_its_parts(tmp_path, io, system):
    u = io.make_universe()
    parts = [io.write_trajectory(u, tmp_path / "a.xtc", frames=slice(0, 12)),
             io.write_trajectory(u, tmp_path / "b.xtc", frames=slice(12, 30))]
    chained = mda.Universe(system["top"], parts)
    src = open_source(chained)
    assert src.members[0].parts == tuple(parts) and src.n_frames == chained.trajectory.n_frames == 30
    assert src.members == open_source(system["top"], parts).members
    chunk = src.read(src.partition(30)[0])
    for f in (0, 11, 12, 29):  # both sides of the seam, against MDAnalysis' own ChainReader
        chained.trajectory[f]
        np.testing.assert_array_equal(chunk.positions[f], chained.atoms.positions)
        assert chunk.times[f] == pytest.approx(chained.trajectory.time)
    res = RDF(chained.select_atoms("name C"), "name O", r_max=8.0, n_bins=20).run(chained)
    assert_same_results(res, RDF("name C", "name O", r_max=8.0, n_bins=20).run(open_source(system["top"], parts)))


def test_format_hints_and_reader_options_follow_the_universe(tmp_path, system):
    odd = shutil.copy(system["xtc"], tmp_path / "frames.bin")  # an extension MDAnalysis does not know
    u = mda.Universe(system["top"], str(odd), format="XTC", dt=2.0)  # the step the file's stamps hold
    src = open_source(u)
    assert src.format == "XTC" and src.reader_kwargs == {"dt": 2.0}
    assert src.dt == pytest.approx(u.trajectory.dt) == pytest.approx(2.0)
    assert src.fingerprint() == open_source(system["top"], str(odd), format="XTC", dt=2.0).fingerprint()
    # A dt that contradicts the stamps is refused through the Universe as through the paths.
    with pytest.raises(IrregularTimeError, match=r"frames\.bin.*given dt=7\.0"):
        open_source(mda.Universe(system["top"], str(odd), format="XTC", dt=7.0))


def test_a_single_file_universe_reads_the_topology_coordinates(system):
    u = mda.Universe(system["pdb_multi"])
    src = open_source(u)
    assert src.members[0].parts == (system["pdb_multi"],) and src.n_frames == u.trajectory.n_frames


@pytest.mark.parametrize("make, message", [
    (lambda s: mda.Universe(*s, in_memory=True), r"coordinates are held in memory \(MemoryReader.*mda\.Writer"),
    (lambda s: mda.Universe.empty(10, trajectory=True), r"no topology file \(built with Universe\.empty.*"
                                                         r"open_source\('top\.pdb', 'traj\.xtc'\)"),
    (lambda s: _with_transformation(mda.Universe(*s)), r"on-the-fly transformations \(translate\) that workers "
                                                       r"would not apply.*Write the transformed trajectory"),
    (lambda s: _with_attr(mda.Universe(*s)), r"atom charges differ from those of '.*spe_sample\.psf' reopened.*"
                                             r"Write the modified topology"),
])
def test_a_universe_its_files_cannot_reproduce_is_refused(sample, make, message):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        u = make(sample)
    with pytest.raises(UniverseNotReopenableError, match=message) as err:
        open_source(u)
    assert isinstance(err.value, ValueError) and "reopen files by path" in str(err.value)
    with pytest.raises(UniverseNotReopenableError):  # the engine converts through the same door
        run(RDF("name Li", r_max=5.0), u)


def _with_transformation(u):
    from MDAnalysis import transformations

    u.trajectory.add_transformations(transformations.translate([1.0, 0.0, 0.0]))
    return u


def _with_attr(u):
    u.add_TopologyAttr("charges", np.zeros(u.atoms.n_atoms))
    return u


def test_wrong_universe_calls_name_the_right_one(sample, universe):
    with pytest.raises(TypeError, match=r"takes a Universe, not an AtomGroup: call open_source\(ag\.universe\)"):
        open_source(universe.select_atoms("name Li"))
    with pytest.raises(TypeError, match=r"open_source\(universe\) takes no 'trajectories'"):
        open_source(universe, sample[1])


# -- AtomGroups as selections -------------------------------------------------------------------------
@pytest.mark.parametrize("scheduler", ["serial", "threads", "processes"])
def test_universe_and_atomgroups_match_paths_and_strings(sample, universe, scheduler):
    src = open_source(*sample)
    li, o = universe.select_atoms("name Li"), universe.select_atoms("name O")
    opts = {"scheduler": scheduler, "n_workers": 2, "progress": False}
    assert_same_results(run(RDF(li, o, r_max=10.0, n_bins=40), universe, stop=12, chunk_size=4, **opts),
                        run(RDF("name Li", "name O", r_max=10.0, n_bins=40), src, stop=12, chunk_size=4, **opts))
    assert_same_results(Coordination(li, o, cutoff=3.0).run(universe, stop=12, chunk_size=4, **opts),
                        Coordination("name Li", "name O", cutoff=3.0).run(src, stop=12, chunk_size=4, **opts))
    assert_same_results(MSD(li).run(universe, stop=60, **opts), MSD("name Li").run(src, stop=60, **opts))


def test_an_atomgroup_keeps_its_order_and_is_checked_like_indices(sample, universe):
    src = open_source(*sample)
    ag = universe.atoms[[5, 2, 9]]
    np.testing.assert_array_equal(resolve_atoms(src, ag, "select", "MSD"), [5, 2, 9])
    with pytest.raises(ValueError, match="repeats atom indices"):
        resolve_atoms(src, universe.atoms[[1, 1]], "select", "MSD")


def test_an_atomgroup_parameter_is_small_picklable_and_described(sample, universe):
    li = universe.select_atoms("name Li")
    rdf = RDF(li, r_max=6.0)
    assert isinstance(rdf.select_a, AtomGroupSelection)
    assert repr(rdf) == "RDF(select_a=<AtomGroup of 60 atoms>, r_max=6.0)"
    blob = pickle.dumps(rdf)
    assert len(blob) < 4000 and pickle.loads(blob).select_a == rdf.select_a  # no Universe inside
    res = rdf.run(universe, stop=3)
    assert res.provenance["parameters"]["select_a"] == "AtomGroup of 60 atoms [1920-1979]"
    res.to_json()
    assert "AtomGroup of 60 atoms" in json.dumps(res.provenance["parameters"])  # a plain, short record
    spread = universe.atoms[::2]
    text = describe_selection(spread)
    assert text.startswith(f"AtomGroup of {len(spread)} atoms [0, 2, 4,") and "...; sha1:" in text and len(text) < 120
    assert Param("selection", name="select").validate(li, "MSD") == AtomGroupSelection.from_atomgroup(li)


def test_an_atomgroup_of_another_universe_is_refused(sample, psf_dcd, tmp_path):
    src = open_source(*sample)
    adk = mda.Universe(*psf_dcd).select_atoms("name CA")
    with pytest.raises(SelectionError, match=r"The 'select_a' parameter of RDF is an AtomGroup of a Universe of "
                       r"3341 atoms \('.*adk.*psf'\), but the source has 2040 atoms \('.*spe_sample\.psf'\)\. "
                       r"Build the AtomGroup from the source's own Universe"):
        RDF(adk, r_max=5.0).run(src)
    copy = shutil.copy(sample[0], tmp_path / "copy.psf")  # same system, another file
    other = mda.Universe(str(copy), sample[1]).select_atoms("name Li")
    with pytest.raises(SelectionError, match=r"The 'select' parameter of MSD is an AtomGroup of a Universe of "
                       r"'.*copy\.psf', but the source reads '.*spe_sample\.psf'\..*pass its indices"):
        MSD(other).run(src)
    MSD(other.indices).run(src, stop=10)  # the fix the message gives


def test_empty_and_updating_atomgroups_are_refused(universe):
    with pytest.raises(InvalidParameterError, match=r"The 'select_a' parameter of RDF must be an MDAnalysis "
                       r"selection string, an AtomGroup or a 1-D array of topology indices\. Got an empty "
                       r"AtomGroup instead"):
        RDF(universe.select_atoms("name Xx"))
    with pytest.raises(SelectionError, match="UpdatingAtomGroup changes with every frame"):
        MSD(universe.select_atoms("name Li", updating=True))
    with pytest.raises(EmptySelectionError, match="'select' parameter of MSD is an empty AtomGroup"):
        resolve_atoms(open_source(universe), universe.atoms[[]], "select", "MSD")


def test_atomgroups_as_labelled_selections(sample, universe):
    """A mapping parameter's AtomGroups (ShellCounts' species) are kept light and resolved like strings."""
    from trajml.features import ShellCounts

    li, o = universe.select_atoms("name Li"), universe.select_atoms("name O")
    counts = ShellCounts(li, {"O": o}, radii=(4.0, 6.0))
    assert repr(counts.species["O"]) == "<AtomGroup of 960 atoms>" and len(pickle.dumps(counts)) < 20000
    res = run(counts, universe, stop=6, scheduler="processes", n_workers=2, progress=False)
    assert_same_results(res, run(ShellCounts("name Li", {"O": "name O"}, radii=(4.0, 6.0)), open_source(*sample),
                                 stop=6))
    assert res.provenance["parameters"]["species"]["O"].startswith("AtomGroup of 960 atoms [1, 3, 5,")
    json.dumps(res.provenance["parameters"]["species"])


def test_a_chainreader_whose_parts_repeat_a_frame_warns(tmp_path, io, system):
    """trajml drops a continuation part's repeated first frame; the ChainReader keeps it: said, not hidden."""
    u = io.make_universe()
    parts = [io.write_trajectory(u, tmp_path / "a.xtc", frames=slice(0, 12)),
             io.write_trajectory(u, tmp_path / "b.xtc", frames=slice(11, 30))]
    chained = mda.Universe(system["top"], parts)
    with pytest.warns(RuntimeWarning, match=r"has 30 frames, the Universe 31: trajml drops a continuation part's "
                      r"first frame when it repeats"):
        src = open_source(chained)
    assert src.members == open_source(system["top"], parts).members
