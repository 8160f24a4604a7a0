"""Parameters of an all-atom PEO/LiTFSI simulation (``trajml simulate --model all-atom``).

:class:`AllAtomParameters` is a frozen dataclass like :class:`~trajml.sim.parameters.SimulationParameters`:
every knob with its default, validated on construction, in trajml's units (Å, ps, kJ/mol, e, K, amu, bar,
g/cm³). The force field is fixed (OPLS-AA PEO, CL&P Li⁺/TFSI⁻, see ``trajml/sim/forcefields/README.md``);
``charge_scale`` scales the ion charges.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, Mapping

from trajml._validation import check_float, check_int, invalid

__all__ = ["AllAtomParameters", "PEO_UNIT_MASS", "LITFSI_MASS", "METHYL_ENDS_MASS"]

#: Mass of one CH2–CH2–O repeat unit in amu (2 C + 4 H + O, masses of the force field).
PEO_UNIT_MASS: float = 2 * 12.011 + 4 * 1.008 + 15.9994
#: Mass of the two methyl end groups plus the extra ether O of a chain, in amu.
METHYL_ENDS_MASS: float = 2 * (12.011 + 3 * 1.008) + 15.9994
#: Mass of one Li⁺ + TFSI⁻ pair in amu.
LITFSI_MASS: float = 6.941 + 2 * 12.011 + 2 * 32.066 + 14.000 + 4 * 15.999 + 6 * 18.998
_AMU_PER_A3_TO_G_PER_CM3 = 1.66053906660

_OWNER = "AllAtomParameters"
_FORMATS = ("xtc", "dcd")
_PLATFORMS = ("CPU", "Reference", "CUDA", "OpenCL")


@dataclass(frozen=True)
class AllAtomParameters:
    """Every knob of an all-atom PEO/LiTFSI simulation, validated.

    Equilibration (``n_equilibration`` steps in all, Monte Carlo barostat) runs in three parts: the first
    10 % with ``timestep / 2`` and the next 45 % with ``timestep``, both at ``compression_pressure``
    (squeezing the low-density start into a melt), the last 45 % at ``pressure``. Production runs at
    constant volume (the box at the end of equilibration); Langevin thermostat throughout; bonds to H
    are constrained.

    Parameters
    ----------
    n_chains : int
        Number of PEO chains, >= 1.
    eo_units : int
        CH2–CH2–O repeat units per chain, >= 1; each chain CH3–O–(CH2CH2O)n–CH3 has ``eo_units + 1``
        ether oxygens.
    eo_li_ratio : float
        Ether O per Li⁺, > 0; Li⁺ = round(n_O / eo_li_ratio) >= 1, as many TFSI⁻.
    charge_scale : float
        Factor on the ion charges (Li⁺ and every TFSI⁻ atom), in (0, 1] (default 0.8, the usual scaling
        of non-polarisable ionic models); PEO charges are not scaled.
    temperature : float
        Thermostat temperature in K, > 0.
    pressure : float
        Barostat pressure of the last equilibration part in bar, > 0.
    compression_pressure : float
        Barostat pressure of the compression part in bar, > 0.
    timestep : float
        Time step in ps, in (0, 0.002] (bonds to H are constrained); up to 0.004 with ``hydrogen_mass``.
    friction : float
        Langevin friction in 1/ps, > 0.
    n_steps : int
        Production steps, >= 1; a multiple of ``save_interval``.
    n_equilibration : int
        Equilibration steps, >= 0.
    save_interval : int
        Steps between saved frames, >= 1.
    initial_density : float
        Mass density of the random start in g/cm³, > 0 (low, so molecules can be placed without overlap).
    cutoff : float
        Real-space cut-off of Lennard-Jones and PME electrostatics in Å, > 0 (with a long-range
        dispersion correction); must stay under half the box.
    seed : int
        Seed of every random choice, >= 0.
    trajectory_format : str
        ``"xtc"`` or ``"dcd"``.
    platform : str
        OpenMM platform: ``"CPU"``, ``"Reference"``, ``"CUDA"`` or ``"OpenCL"``.
    threads : int or None
        CPU threads for the ``"CPU"`` platform, >= 1; None lets OpenMM choose.
    hydrogen_mass : float or None
        Hydrogen mass repartitioning: every H gets this mass in amu, in (1.008, 4.0], taken from the heavy
        atom it is bonded to, so molecular masses stay the same; it allows ``timestep`` up to 0.004 ps.
        None (default) keeps the force-field masses. It changes nothing static but speeds the fastest
        motions up, so diffusion coefficients can shift by a few per cent: state it with any dynamics
        measured from such a run. Topology files keep the physical masses.
    """

    n_chains: int = 10
    eo_units: int = 22
    eo_li_ratio: float = 16.0
    charge_scale: float = 0.8
    temperature: float = 400.0
    pressure: float = 1.0
    compression_pressure: float = 1000.0
    timestep: float = 0.002
    friction: float = 1.0
    n_steps: int = 100_000
    n_equilibration: int = 40_000
    save_interval: int = 500
    initial_density: float = 0.3
    cutoff: float = 9.0
    seed: int = 0
    trajectory_format: str = "xtc"
    platform: str = "CPU"
    threads: int | None = None
    hydrogen_mass: float | None = None

    def __post_init__(self) -> None:
        check_int(self.n_chains, "n_chains", _OWNER, minimum=1)
        check_int(self.eo_units, "eo_units", _OWNER, minimum=1)
        check_float(self.eo_li_ratio, "eo_li_ratio", _OWNER, low=0.0, unit="")
        check_float(self.charge_scale, "charge_scale", _OWNER, low=0.0, high=1.0, high_closed=True, unit="")
        check_float(self.temperature, "temperature", _OWNER, low=0.0, unit="K")
        check_float(self.pressure, "pressure", _OWNER, low=0.0, unit="bar")
        check_float(self.compression_pressure, "compression_pressure", _OWNER, low=0.0, unit="bar")
        if self.hydrogen_mass is not None:
            check_float(self.hydrogen_mass, "hydrogen_mass", _OWNER, low=1.008, high=4.0, high_closed=True,
                        unit="amu")
        max_dt = 0.002 if self.hydrogen_mass is None else 0.004
        check_float(self.timestep, "timestep", _OWNER, low=0.0, high=max_dt, high_closed=True, unit="ps")
        check_float(self.friction, "friction", _OWNER, low=0.0, unit="1/ps")
        check_int(self.n_steps, "n_steps", _OWNER, minimum=1)
        check_int(self.n_equilibration, "n_equilibration", _OWNER, minimum=0)
        check_int(self.save_interval, "save_interval", _OWNER, minimum=1)
        check_float(self.initial_density, "initial_density", _OWNER, low=0.0, unit="g/cm³")
        check_float(self.cutoff, "cutoff", _OWNER, low=0.0, unit="Å")
        check_int(self.seed, "seed", _OWNER, minimum=0)
        if self.trajectory_format not in _FORMATS:
            raise invalid("trajectory_format", _OWNER, "one of 'xtc', 'dcd'", self.trajectory_format)
        if self.platform not in _PLATFORMS:
            raise invalid("platform", _OWNER, "one of " + ", ".join(repr(p) for p in _PLATFORMS), self.platform)
        if self.threads is not None:
            check_int(self.threads, "threads", _OWNER, minimum=1)
        if self.n_steps % self.save_interval != 0:
            raise ValueError(
                f"The 'n_steps' parameter of {_OWNER} must be a multiple of 'save_interval' "
                f"({self.save_interval}). Got {self.n_steps!r} instead."
            )
        if self.n_li < 1:
            raise ValueError(
                f"The 'eo_li_ratio' parameter of {_OWNER} must leave at least one Li+ (round(n_O / eo_li_ratio) "
                f">= 1 with n_O = {self.n_ether_oxygen}). Got {self.eo_li_ratio!r} instead."
            )

    # Derived quantities -------------------------------------------------------------
    @property
    def n_ether_oxygen(self) -> int:
        """int: ether oxygens, ``n_chains * (eo_units + 1)``."""
        return self.n_chains * (self.eo_units + 1)

    @property
    def n_li(self) -> int:
        """int: Li⁺ ions, ``round(n_O / eo_li_ratio)``."""
        return int(round(self.n_ether_oxygen / float(self.eo_li_ratio)))

    @property
    def n_anions(self) -> int:
        """int: TFSI⁻ anions (as many as Li⁺)."""
        return self.n_li

    @property
    def atoms_per_chain(self) -> int:
        """int: atoms of one chain, ``7 * eo_units + 9``."""
        return 7 * self.eo_units + 9

    @property
    def n_atoms(self) -> int:
        """int: all atoms (chains, 1 per Li⁺, 15 per TFSI⁻)."""
        return self.n_chains * self.atoms_per_chain + 16 * self.n_li

    @property
    def total_mass(self) -> float:
        """float: system mass in amu."""
        return self.n_chains * (self.eo_units * PEO_UNIT_MASS + METHYL_ENDS_MASS) + self.n_li * LITFSI_MASS

    @property
    def initial_box_length(self) -> float:
        """float: edge in Å of the cubic start box at ``initial_density``."""
        return float((self.total_mass * _AMU_PER_A3_TO_G_PER_CM3 / float(self.initial_density)) ** (1.0 / 3.0))

    @property
    def frame_interval(self) -> float:
        """float: time between saved frames in ps."""
        return float(self.save_interval * self.timestep)

    @property
    def n_frames(self) -> int:
        """int: number of saved frames."""
        return self.n_steps // self.save_interval

    # Serialisation ------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Return every parameter as a JSON-serialisable dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "AllAtomParameters":
        """Build parameters from a dict such as :meth:`to_dict` returns (unknown keys raise ValueError)."""
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(f"{_OWNER}.from_dict got unknown parameter(s) {unknown}; "
                             f"known parameters are {sorted(names)}.")
        return cls(**dict(data))

    def replace(self, **changes: Any) -> "AllAtomParameters":
        """Return a copy with some parameters changed (validated again)."""
        data = self.to_dict()
        data.update(changes)
        return self.from_dict(data)
