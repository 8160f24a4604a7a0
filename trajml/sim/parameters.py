"""Parameters of a coarse-grained solid-polymer-electrolyte (SPE) simulation.

:class:`SimulationParameters` is a frozen dataclass: every knob of
``trajml simulate`` with its default, validated on construction. Values are in
trajml's units (Å, ps, kJ/mol, e, K, amu).

The reduced (Lennard-Jones) units of the Kremer–Grest model map onto real units
through :data:`UNIT_MAPPING`:

============  =====================================  ==========================
quantity      reduced unit                           real value
============  =====================================  ==========================
length        σ                                      5.0 Å
energy        ε = k_B · 300 K                        2.4943 kJ/mol
mass          m (every bead)                         44.0 amu (one C₂H₄O unit)
time          τ = σ √(m / ε)                         2.100 ps
density       σ⁻³                                    0.008 Å⁻³
charge        e                                      1 e
============  =====================================  ==========================

ε is fixed at k_B · 300 K; changing ``temperature`` changes k_B T / ε.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any, Mapping

from trajml._validation import check_float, check_int, check_temperature, invalid
from trajml.units import KB_KJ_MOL_K as BOLTZMANN

__all__ = [
    "SimulationParameters",
    "UNIT_MAPPING",
    "SIGMA",
    "EPSILON",
    "BEAD_MASS",
    "TAU",
    "MAX_TIMESTEP",
    "BOLTZMANN",
]

#: Bead diameter σ in Å (C, O and Li beads).
SIGMA: float = 5.0
#: Energy unit ε = k_B · 300 K in kJ/mol.
EPSILON: float = BOLTZMANN * 300.0
#: Mass of every bead in amu.
BEAD_MASS: float = 44.0
#: Time unit τ = σ √(m/ε) in ps (amu·Å²/(kJ/mol) = 0.01 ps²).
TAU: float = SIGMA * math.sqrt(BEAD_MASS / EPSILON) * 0.1

#: Largest accepted time step in ps (0.02 τ).
MAX_TIMESTEP: float = 0.02 * TAU

#: The mapping between reduced Lennard-Jones units and trajml's real units.
UNIT_MAPPING: dict[str, float] = {
    "sigma_angstrom": SIGMA,
    "epsilon_kj_per_mol": EPSILON,
    "epsilon_temperature_kelvin": 300.0,
    "bead_mass_amu": BEAD_MASS,
    "tau_ps": TAU,
    "reduced_density_unit_per_angstrom3": 1.0 / SIGMA**3,
}

_FORMATS = ("xtc", "dcd")
_PLATFORMS = ("CPU", "Reference", "CUDA", "OpenCL")


_OWNER = "SimulationParameters"


def _fail(name: str, constraint: str, value: object) -> ValueError:
    return invalid(name, _OWNER, constraint, value)


@dataclass(frozen=True)
class SimulationParameters:
    """Every knob of a coarse-grained PEO/LiTFSI simulation, validated.

    The defaults are those of the bundled sample (``trajml.data``). Polymer
    chains alternate backbone (``C``) and ether-oxygen (``O``) beads, starting
    and ending with ``C``; each chain has ``chain_length // 2`` ether O.

    Parameters
    ----------
    n_chains : int
        Number of polymer chains, >= 1.
    chain_length : int
        Beads per chain (C and O alternating), >= 2.
    eo_li_ratio : float
        Ether O per Li⁺, > 0. The number of Li⁺ is ``round(n_O / eo_li_ratio)``
        and must come out >= 1; as many anions are added for neutrality.
    eps_li_o : float
        Depth of the attractive Lennard-Jones well between Li⁺ and ether O, in
        kJ/mol, > 0 (default 5.0 ≈ 2 ε). The full LJ, cut and shifted at
        2.5 σ_LiO, replaces the WCA repulsion for Li–O pairs.
    k_angle : float
        Bending stiffness k in U = k (1 + cos θ), in kJ/mol, >= 0 (0 = freely
        jointed; θ is the bond angle, so straight chains are the minimum).
    anion_sigma : float
        Diameter of the TFSI-like anion bead, in Å, > 0 (default 7.0).
    debye_length : float
        Debye screening length λ_D of the Yukawa electrostatics, in Å, > 0.
    relative_permittivity : float
        Relative permittivity ε_r of the medium, > 0 (dimensionless).
    temperature : float
        Thermostat temperature, in K, > 0.
    timestep : float
        Production integration time step, in ps, > 0 (default 0.01 ≈ τ/210), at most 0.02 τ ≈ 0.042 ps.
    friction : float
        Langevin friction coefficient, in 1/ps, > 0 (default 0.5 ≈ 1/τ).
    n_steps : int
        Production steps, >= 1; a multiple of ``save_interval``.
    n_equilibration : int
        Equilibration steps with the full potential before production, >= 0
        (the first quarter of them with a time step of ``timestep / 4``).
    save_interval : int
        Steps between saved frames, >= 1.
    density : float
        Target bead number density (all beads), in beads/Å³, > 0 (default
        0.0068 Å⁻³ = 0.85 σ⁻³).
    seed : int
        Seed of every random choice (initial configuration, velocities,
        Langevin noise), >= 0.
    trajectory_format : str
        ``"xtc"`` or ``"dcd"``.
    platform : str
        OpenMM platform: ``"CPU"``, ``"Reference"``, ``"CUDA"`` or ``"OpenCL"``.
    threads : int or None
        CPU threads for the ``"CPU"`` platform, >= 1; None lets OpenMM choose.
    """

    n_chains: int = 40
    chain_length: int = 48
    eo_li_ratio: float = 16.0
    eps_li_o: float = 5.0
    k_angle: float = 0.0
    anion_sigma: float = 7.0
    debye_length: float = 10.0
    relative_permittivity: float = 10.0
    temperature: float = 300.0
    timestep: float = 0.01
    friction: float = 0.5
    n_steps: int = 150_000
    n_equilibration: int = 20_000
    save_interval: int = 500
    density: float = 0.85 / SIGMA**3
    seed: int = 0
    trajectory_format: str = "xtc"
    platform: str = "CPU"
    threads: int | None = None

    def __post_init__(self) -> None:
        check_int(self.n_chains, "n_chains", _OWNER, minimum=1)
        check_int(self.chain_length, "chain_length", _OWNER, minimum=2)
        check_float(self.eo_li_ratio, "eo_li_ratio", _OWNER, low=0.0, unit="")
        check_float(self.eps_li_o, "eps_li_o", _OWNER, low=0.0, unit="kJ/mol")
        check_float(self.k_angle, "k_angle", _OWNER, low=0.0, low_closed=True, unit="kJ/mol")
        check_float(self.anion_sigma, "anion_sigma", _OWNER, low=0.0, unit="Å")
        check_float(self.debye_length, "debye_length", _OWNER, low=0.0, unit="Å")
        check_float(self.relative_permittivity, "relative_permittivity", _OWNER, low=0.0, unit="")
        check_temperature(self.temperature, "temperature", _OWNER)
        check_float(self.timestep, "timestep", _OWNER, low=0.0, unit="ps")
        check_float(self.friction, "friction", _OWNER, low=0.0, unit="1/ps")
        check_int(self.n_steps, "n_steps", _OWNER, minimum=1)
        check_int(self.n_equilibration, "n_equilibration", _OWNER, minimum=0)
        check_int(self.save_interval, "save_interval", _OWNER, minimum=1)
        check_float(self.density, "density", _OWNER, low=0.0, unit="beads/Å³")
        check_int(self.seed, "seed", _OWNER, minimum=0)
        if self.trajectory_format not in _FORMATS:
            raise _fail("trajectory_format", "one of 'xtc', 'dcd'", self.trajectory_format)
        if self.platform not in _PLATFORMS:
            raise _fail("platform", "one of " + ", ".join(repr(p) for p in _PLATFORMS), self.platform)
        if self.threads is not None:
            check_int(self.threads, "threads", _OWNER, minimum=1)
        # Cross-field constraints.
        if self.n_steps % self.save_interval != 0:
            raise ValueError(
                "The 'n_steps' parameter of SimulationParameters must be a multiple of "
                f"'save_interval' ({self.save_interval}). Got {self.n_steps!r} instead."
            )
        if self.timestep > MAX_TIMESTEP:
            raise _fail(
                "timestep", f"a float in (0, {MAX_TIMESTEP:.4g}] ps (0.02 τ; larger steps are unstable)", self.timestep
            )
        if self.n_li < 1:
            raise ValueError(
                "The 'eo_li_ratio' parameter of SimulationParameters must leave at least one Li+ "
                f"(round(n_O / eo_li_ratio) >= 1 with n_O = {self.n_ether_oxygen}). "
                f"Got {self.eo_li_ratio!r} instead."
            )
        if self.n_molecules > 99_999_999:
            raise _fail("n_chains", "small enough for at most 99999999 molecules", self.n_chains)

    # Derived quantities -------------------------------------------------------------
    @property
    def n_ether_oxygen(self) -> int:
        """int: number of ether-O beads, ``n_chains * (chain_length // 2)``."""
        return self.n_chains * (self.chain_length // 2)

    @property
    def n_li(self) -> int:
        """int: number of Li⁺ beads, ``round(n_O / eo_li_ratio)``."""
        return int(round(self.n_ether_oxygen / float(self.eo_li_ratio)))

    @property
    def n_anions(self) -> int:
        """int: number of anion beads (equal to ``n_li``, for neutrality)."""
        return self.n_li

    @property
    def n_beads(self) -> int:
        """int: total number of beads."""
        return self.n_chains * self.chain_length + self.n_li + self.n_anions

    @property
    def n_molecules(self) -> int:
        """int: chains plus ions (each ion is its own molecule)."""
        return self.n_chains + self.n_li + self.n_anions

    @property
    def box_length(self) -> float:
        """float: edge of the cubic box in Å, ``(n_beads / density) ** (1/3)``."""
        return float((self.n_beads / float(self.density)) ** (1.0 / 3.0))

    @property
    def frame_interval(self) -> float:
        """float: time between saved frames in ps, ``save_interval * timestep``."""
        return float(self.save_interval * self.timestep)

    @property
    def n_frames(self) -> int:
        """int: number of saved frames, ``n_steps // save_interval``."""
        return self.n_steps // self.save_interval

    # Serialisation ------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Return every parameter as a JSON-serialisable dict (field name → value)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "SimulationParameters":
        """Build parameters from a dict such as :meth:`to_dict` returns.

        Unknown keys raise ``ValueError`` naming them; missing keys take defaults.
        """
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(
                f"SimulationParameters.from_dict got unknown parameter(s) {unknown}; "
                f"known parameters are {sorted(names)}."
            )
        return cls(**dict(data))

    def replace(self, **changes: Any) -> "SimulationParameters":
        """Return a copy with some parameters changed (validated again)."""
        data = self.to_dict()
        data.update(changes)
        return self.from_dict(data)
