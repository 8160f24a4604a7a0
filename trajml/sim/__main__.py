"""``python -m trajml.sim``: the ``trajml simulate`` command without the ``trajml`` entry point."""

from __future__ import annotations

import argparse
import sys

from trajml.cli.simulate import _DESCRIPTION, add_arguments, run


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` (default: ``sys.argv[1:]``) and run a simulation; return the exit code."""
    parser = argparse.ArgumentParser(prog="python -m trajml.sim", description=_DESCRIPTION)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
