"""The first-shell cut-off's first pass: its default range on small and large boxes."""

from __future__ import annotations


def test_default_range_fits_a_small_box():
    """r_max=None is 15 Å, or just under half the smallest box (MDAnalysis' box lengths as the oracle)."""
    import MDAnalysis as mda

    from trajml.data import sample_aa_topology, sample_aa_trajectory, sample_topology, sample_trajectory
    from trajml.features.first_shell import clear_first_shell_cache, first_shell
    from trajml.io import open_source

    clear_first_shell_cache()
    u = mda.Universe(sample_aa_topology(), sample_aa_trajectory())
    half = min(float(ts.dimensions[:3].min()) for ts in u.trajectory) / 2  # orthorhombic box
    shell = first_shell(open_source(sample_aa_topology(), sample_aa_trajectory()), "name LI", "name OE")
    assert half - 0.05 < shell.r_max < half and 3.0 < shell.cutoff < 4.0
    big = first_shell(open_source(sample_topology(), sample_trajectory()), "name Li", "name O")
    assert big.r_max == 15.0
