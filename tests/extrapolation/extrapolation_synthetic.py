"""A synthetic multi-fidelity polymer-electrolyte dataset whose long-run values are a known function
of the short-run value and of the repeat unit's graph (its heteroatom count)."""

from __future__ import annotations

import numpy as np

from trajml.extrapolation.tables import ExtrapolationTable

BACKBONE = ("C", "C", "C", "O", "N", "S")


def chemistries(n: int, seed: int = 0) -> list[tuple[str, int, int]]:
    """``n`` distinct repeat units ``*...*`` of 3-8 backbone atoms: (smiles, ring size, heteroatoms)."""
    rng = np.random.default_rng(seed)
    out: dict[str, tuple[str, int, int]] = {}
    while len(out) < n:
        length = int(rng.integers(3, 9))
        atoms = ["C"] + [str(a) for a in rng.choice(BACKBONE, size=length - 1)]
        smi = "*" + "".join(atoms) + "*"
        out.setdefault(smi, (smi, length, sum(a != "C" for a in atoms)))
    return list(out.values())


def offset(n_hetero: np.ndarray) -> np.ndarray:
    """Short-run overestimate of log10 D (the truth the model must learn): 0.2 + 0.15 per heteroatom."""
    return 0.2 + 0.15 * np.asarray(n_hetero, dtype=float)


def synthetic_table(n_chem: int = 30, temperatures=(300.0, 340.0, 380.0, 420.0), seed: int = 0,
                    noise: float = 0.02, high_fraction: float = 1.0) -> tuple[ExtrapolationTable, np.ndarray]:
    """Rows = chemistry × temperature; tasks log10_D_Li and transference.

    short log10 D = 0.12 L - 0.25 h - 600/T + noise,  long = short - offset(h) + noise,
    t+ short = 0.1 + 0.04 h + 1e-4 (T - 300),         long t+ = 0.8 * short t+ + 0.03 (L - 5)
    (L: ring size, absent from the short-run t+; h: heteroatoms).
    Returns the table and the heteroatom count of each row.
    """
    rng = np.random.default_rng(seed)
    chem = chemistries(n_chem, seed)
    rows, hetero = [], []
    for smi, length, h in chem:
        for t in temperatures:
            rows.append((smi, length, h, t))
            hetero.append(h)
    n = len(rows)
    length = np.array([r[1] for r in rows], float)
    h = np.array(hetero, float)
    temp = np.array([r[3] for r in rows], float)
    low_d = 0.12 * length - 0.25 * h - 600.0 / temp + rng.normal(0, noise, n)
    high_d = low_d - offset(h) + rng.normal(0, noise, n)
    low_t = 0.1 + 0.04 * h + 1e-4 * (temp - 300.0) + rng.normal(0, noise / 2, n)
    high_t = 0.8 * low_t + 0.03 * (length - 5.0) + rng.normal(0, noise / 2, n)
    high = np.c_[high_d, high_t]
    if high_fraction < 1.0:
        high[rng.random(high.shape) > high_fraction] = np.nan  # each task missing independently
    table = ExtrapolationTable(tuple(f"p{k}" for k in range(n)), tuple(r[0] for r in rows), "smiles",
                               ("temperature",), temp[:, None], ("log10_D_Li", "transference"),
                               np.c_[low_d, low_t], high)
    return table, h
