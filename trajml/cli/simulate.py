"""``trajml simulate``: run a coarse-grained or all-atom PEO/LiTFSI simulation with OpenMM.

``--model cg`` (the default) runs the Kremer–Grest model of :class:`trajml.sim.SimulationParameters`,
``--model all-atom`` the OPLS-AA/CL&P model of :class:`trajml.sim.AllAtomParameters`. Every knob of
either is an option (``--n-chains`` for ``n_chains``); an option of the other model only is refused.
Options left out take the values of ``--from-json`` (a ``<name>.json`` written by an earlier run, to
repeat or vary it; its model too) or else the defaults, which are the bundled samples'.

Exit codes: 0 success, 1 the simulation became unstable (NaN/inf), 2 invalid
parameters, 3 OpenMM missing.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import fields
from typing import Any

__all__ = ["register", "run", "add_arguments", "parameters_from_args"]

_HELP = "Simulate a coarse-grained or all-atom PEO/LiTFSI solid polymer electrolyte with OpenMM."
_DESCRIPTION = (
    "Run a Kremer-Grest style coarse-grained PEO/LiTFSI simulation (FENE chains of alternating "
    "backbone and ether-O beads, WCA repulsion, Li-O Lennard-Jones attraction, screened Coulomb "
    "between ions, Langevin thermostat) on OpenMM and write <name>.psf, <name>.xtc|dcd and "
    "<name>.json (every parameter, derived quantities, software versions). Units: Å, ps, kJ/mol, "
    "K, e, amu; reduced units map as sigma = 5 Å, epsilon = kB*300 K = 2.494 kJ/mol, "
    "m = 44 amu, tau = 2.1 ps. Options not given take the values of --from-json or the defaults "
    "(those of the bundled sample). --model all-atom instead runs an all-atom model (OPLS-AA PEO, "
    "CL&P Li+/TFSI- with ion charges scaled by --charge-scale, PME, Langevin, Monte Carlo barostat "
    "during equilibration, H bonds constrained)."
)

# (field, type, help without default); defaults are appended from SimulationParameters.
_OPTIONS: tuple[tuple[str, Any, str], ...] = (
    ("n_chains", int, "number of polymer chains (>= 1)"),
    ("chain_length", int, "beads per chain, alternating backbone C and ether O (>= 2)"),
    ("eo_li_ratio", float, "ether O per Li+; Li+ = round(n_O / ratio), as many anions (> 0)"),
    ("eps_li_o", float, "depth of the Li-O Lennard-Jones well in kJ/mol (> 0; epsilon = 2.494 kJ/mol)"),
    ("k_angle", float, "bending stiffness k in k(1 + cos theta), kJ/mol (>= 0; 0 = flexible)"),
    ("anion_sigma", float, "anion bead diameter in Å (> 0)"),
    ("debye_length", float, "Debye screening length of the Yukawa electrostatics in Å (> 0); "
                            "cut-off max(3*debye_length, 12.5 Å), so large values are slow"),
    ("relative_permittivity", float, "relative permittivity of the medium (> 0)"),
    ("temperature", float, "thermostat temperature in K (> 0)"),
    ("timestep", float, "production time step in ps (0 < dt <= 0.042)"),
    ("friction", float, "Langevin friction in 1/ps (> 0)"),
    ("n_steps", int, "production steps, a multiple of --save-interval"),
    ("n_equilibration", int, "equilibration steps before production (>= 0)"),
    ("save_interval", int, "steps between saved frames (>= 1)"),
    ("density", float, "bead number density in beads/Å³ (0.0068 = 0.85 sigma^-3)"),
    ("seed", int, "random seed (>= 0); bit-identical reruns need --threads 1"),
    ("trajectory_format", str, "trajectory format"),
    ("platform", str, "OpenMM platform"),
    ("threads", int, "CPU threads for the CPU platform (default: OpenMM's choice)"),
)
# Knobs of the all-atom model only (AllAtomParameters).
_AA_OPTIONS: tuple[tuple[str, Any, str], ...] = (
    ("eo_units", int, "all-atom: CH2CH2O repeat units per chain CH3O(CH2CH2O)nCH3 (>= 1)"),
    ("charge_scale", float, "all-atom: factor on the Li+ and TFSI- charges (0 < s <= 1)"),
    ("pressure", float, "all-atom: barostat pressure of the last equilibration part in bar (> 0)"),
    ("compression_pressure", float, "all-atom: barostat pressure of the compression part in bar (> 0)"),
    ("initial_density", float, "all-atom: mass density of the random start in g/cm³ (> 0)"),
    ("cutoff", float, "all-atom: Lennard-Jones and PME real-space cut-off in Å (> 0)"),
    ("hydrogen_mass", float, "all-atom: hydrogen mass repartitioning, H mass in amu taken from the bonded "
                             "heavy atom (1.008 < m <= 4); allows --timestep up to 0.004"),
)
# What a None default means, where it is not OpenMM's choice.
_NONE_SHOWN = {"hydrogen_mass": "off, force-field masses"}
_MODELS = ("cg", "all-atom")
_CHOICES = {"trajectory_format": ("xtc", "dcd"), "platform": ("CPU", "Reference", "CUDA", "OpenCL")}
_FLAGS = {"trajectory_format": ("--format", "--trajectory-format")}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add every simulate option to ``parser`` (used by ``register`` and ``python -m trajml.sim``)."""
    from trajml.sim.allatom_parameters import AllAtomParameters
    from trajml.sim.parameters import SimulationParameters

    defaults = SimulationParameters()
    aa_defaults = AllAtomParameters()
    aa_fields = {f.name for f in fields(AllAtomParameters)}
    cg_fields = {f.name for f in fields(SimulationParameters)}
    parser.add_argument("--model", choices=_MODELS, default=None,
                        help="cg: Kremer-Grest coarse-grained model; all-atom: OPLS-AA/CL&P all-atom model "
                             "[default: cg, or the model of --from-json]")
    knobs = parser.add_argument_group("model and run parameters")
    for field, typ, text in _OPTIONS + _AA_OPTIONS:
        flags = _FLAGS.get(field, ("--" + field.replace("_", "-"),))
        if field in cg_fields:
            shown = _shown(getattr(defaults, field))
            if field in aa_fields and getattr(aa_defaults, field) != getattr(defaults, field):
                shown += f"; all-atom: {_shown(getattr(aa_defaults, field))}"
            elif field not in aa_fields:
                text = f"cg: {text}"
        else:
            shown = _shown(getattr(aa_defaults, field), none=_NONE_SHOWN.get(field, "OpenMM's choice"))
        kwargs: dict[str, Any] = {"dest": field, "type": typ, "default": None,
                                  "help": f"{text} [default: {shown}]"}
        if field in _CHOICES:
            kwargs["choices"] = _CHOICES[field]
        knobs.add_argument(*flags, **kwargs)
    out = parser.add_argument_group("output")
    out.add_argument("-o", "--output-dir", default=".",
                     help="directory for the outputs, created if missing [default: .]")
    out.add_argument("--name", default="spe",
                     help="file stem of the outputs: <name>.psf, <name>.xtc|dcd, <name>.json [default: spe]")
    out.add_argument("--write-pdb", action="store_true", help="also write <name>.pdb with the first frame")
    out.add_argument("--from-json", metavar="PATH", default=None,
                     help="take parameters from a <name>.json of an earlier run; options given here override them")
    out.add_argument("--no-progress", action="store_true", help="do not show a progress bar")


def _shown(default: Any, none: str = "OpenMM's choice") -> str:
    return none if default is None else f"{default:g}" if isinstance(default, float) else str(default)


def register(subparsers: Any) -> None:
    """Register the ``simulate`` command on an ``argparse`` subparsers object."""
    p = subparsers.add_parser("simulate", help=_HELP, description=_DESCRIPTION)
    add_arguments(p)
    p.set_defaults(func=run)


def parameters_from_args(args: argparse.Namespace) -> Any:
    """Build :class:`~trajml.sim.SimulationParameters` (``--model cg``) or
    :class:`~trajml.sim.AllAtomParameters` (``--model all-atom``) from parsed arguments.

    Raises
    ------
    ValueError
        For an invalid value, an option of the other model, or an unreadable ``--from-json`` file.
    """
    from trajml.sim.allatom_parameters import AllAtomParameters
    from trajml.sim.parameters import SimulationParameters

    base: dict[str, Any] = {}
    path = getattr(args, "from_json", None)
    if path:
        try:
            with open(path, encoding="utf-8") as fh:
                data = json.load(fh)
        except (OSError, json.JSONDecodeError) as exc:
            raise ValueError("The '--from-json' option of simulate must name a readable JSON file. "
                             f"Got {path!r} instead ({exc}).") from exc
        base = dict(data.get("parameters", data)) if isinstance(data, dict) else {}
        json_model = data.get("model", "cg") if isinstance(data, dict) else "cg"
    else:
        json_model = "cg"
    model = getattr(args, "model", None) or json_model
    cls = AllAtomParameters if model == "all-atom" else SimulationParameters
    other = SimulationParameters if cls is AllAtomParameters else AllAtomParameters
    names = {f.name for f in fields(cls)}
    for name in sorted({f.name for f in fields(other)} - names):
        if getattr(args, name, None) is not None:
            flag = _FLAGS.get(name, ("--" + name.replace("_", "-"),))[0]
            wanted = "cg" if model == "all-atom" else "all-atom"
            raise ValueError(f"The '{flag}' option of simulate applies to --model {wanted} only (this run is "
                             f"--model {model}); drop it or pass --model {wanted}.")
    if path and model != json_model:
        raise ValueError(f"The '--model' option of simulate is {model!r} but --from-json names a {json_model!r} run "
                         f"({path}); drop --model or pass --model {json_model}.")
    for name in names:
        value = getattr(args, name, None)
        if value is not None:
            base[name] = value
    return cls.from_dict(base)


def run(args: argparse.Namespace) -> int:
    """Run ``trajml simulate`` with parsed arguments; return the exit code."""
    from trajml.errors import MissingExtraError, NonFiniteCoordinatesError

    try:
        params = parameters_from_args(args)
    except ValueError as exc:
        print(f"trajml simulate: error: {exc}", file=sys.stderr)
        return 2
    try:
        from trajml.sim.allatom_parameters import AllAtomParameters

        if isinstance(params, AllAtomParameters):
            from trajml.sim.allatom_run import simulate_allatom as runner
        else:
            from trajml.sim.run import simulate as runner
        result = runner(params, output_dir=args.output_dir, name=args.name,
                        write_pdb=bool(getattr(args, "write_pdb", False)),
                        progress=not getattr(args, "no_progress", False))
    except MissingExtraError as exc:
        print(f"trajml simulate: error: {exc}", file=sys.stderr)
        return 3
    except NonFiniteCoordinatesError as exc:
        print(f"trajml simulate: the simulation became unstable: {exc}", file=sys.stderr)
        return 1
    except ValueError as exc:
        print(f"trajml simulate: error: {exc}", file=sys.stderr)
        return 2
    print(f"topology:   {result.topology}")
    print(f"trajectory: {result.trajectory} ({result.n_frames} frames, {result.frame_interval:g} ps apart, "
          f"{result.n_atoms} {'atoms' if isinstance(params, AllAtomParameters) else 'beads'})")
    print(f"metadata:   {result.metadata}")
    if result.pdb:
        print(f"pdb:        {result.pdb}")
    print(f"wall time:  {result.wall_seconds:.1f} s")
    return 0
