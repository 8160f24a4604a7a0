"""Command-line options generated from declared parameters, so the CLI cannot drift from Python.

:func:`add_parameters` turns each :class:`~trajml._validation.Param` of a class (or a dict of
them) into one option: ``r_max`` becomes ``--r-max``, a bool that defaults to False becomes a
flag and one that defaults to True a ``--no-…`` flag, a mapping takes ``KEY=VALUE`` items and a
sequence several values. The help line shows the unit and the default; the value is parsed and
checked by the declaration itself, so a bad value reads the same as in Python and in YAML:
``argument --r-max: must be a float in (0, inf) Å. Got -1.0 instead.`` Former names stay
accepted as hidden options that print a deprecation note.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Mapping
from typing import Any

from trajml._validation import REQUIRED, Param, cli_value_text
from trajml.errors import InvalidParameterError

__all__ = ["add_parameters", "parameters_from_args", "help_text", "declared", "render_error"]


def declared(spec: Any) -> dict[str, Param]:
    """The parameters of a class with ``parameters()`` or of a dict of :class:`Param`."""
    if isinstance(spec, Mapping):
        return dict(spec)
    return spec.parameters()


def help_text(p: Param) -> str:
    """The help line of an option: what it is, its unit and its default."""
    unit = f" [{p.unit}]" if p.unit else ""
    if p.kind == "bool" and p.default in (True, False):
        return f"turn off (on by default): {p.help}{unit}" if p.default else f"{p.help}{unit}"
    if p.default is REQUIRED:
        return f"{p.help}{unit} (required)".replace("%", "%%")
    return f"{p.help}{unit} (default: {p.default_text()})".replace("%", "%%")


def _metavar(p: Param) -> str:
    if p.metavar:
        return p.metavar
    if p.choices:
        return "{" + ",".join(cli_value_text(c) for c in p.choices) + "}"
    return {"selection": "SEL", "mapping": "KEY=VALUE", "path": "FILE"}.get(p.kind, p.name.upper())


def _flags(p: Param) -> tuple[list[str], list[str]]:
    """The option strings shown, and the former ones accepted hidden."""
    if p.kind == "bool" and p.default is True:
        shown = [p.flag or "--no-" + p.name.replace("_", "-")]
    else:
        shown = [p.cli_flag]
    hidden = []
    for alias in p.aliases:
        flag = alias if alias.startswith("-") else "--" + alias.replace("_", "-")
        if flag not in shown and flag not in hidden:
            hidden.append(flag)
    return shown, hidden


class _ParamAction(argparse.Action):
    """Parse and check an option's text with its declaration."""

    def __init__(self, option_strings: list[str], dest: str, *, param: Param, owner: str, former: str = "",
                 **kwargs: Any) -> None:
        self.param, self.owner, self.former = param, owner, former
        super().__init__(option_strings, dest, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        p = self.param
        former = self.former or (self.option_strings[0] if option_string not in (None, self.option_strings[0])
                                 else "")
        if former:
            print(f"{parser.prog}: note: {option_string} is now {former}; the old name will be removed in the "
                  "next release.", file=sys.stderr)
        try:
            if p.kind == "bool":
                value = self.const
            elif p.kind == "mapping":
                value = _pairs(values, p, self.owner, option_string or "")
                seen = namespace.__dict__.setdefault("_given_mappings", set())
                if self.dest in seen:  # a repeated option adds to the mapping (--shell A=x --shell B=y)
                    before = getattr(namespace, self.dest)
                    _refuse_repeated(p, self.owner, option_string or "", [k for k in value if k in before])
                    value = {**before, **value}
                seen.add(self.dest)
                value = p.validate(value, self.owner)
            elif p.kind in ("floats", "ints"):
                value = p.parse_text(list(values), self.owner)
            else:
                value = p.parse_text(values, self.owner)
        except InvalidParameterError as exc:
            raise argparse.ArgumentError(self, exc.problem) from None
        setattr(namespace, self.dest, value)


def _pairs(items: Iterable[str], p: Param, owner: str, flag: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items:
        key, sep, text = str(item).partition("=")
        form = p.metavar or ("KEY=NUMBER" if p.items == "float" else "KEY=VALUE")
        example = f"{flag} Li=1 TFSI=-1" if p.items == "float" else f"{flag} O='name O'"
        if not sep or not key.strip() or not text.strip():
            raise p.error(item, owner, constraint=f"{form} items (e.g. {example})")
        value: Any = text.strip()
        if p.items == "float":
            try:
                value = float(value)
            except ValueError:
                raise p.error(item, owner, constraint=f"{form} items (e.g. {example})") from None
        if key.strip() in out:
            _refuse_repeated(p, owner, flag, [key.strip()])
        out[key.strip()] = value
    return out


def _refuse_repeated(p: Param, owner: str, flag: str, keys: list[str]) -> None:
    """A key given twice would silently keep only its last value (``--charges Li=1 Li=2``): refuse it."""
    if keys:
        key = keys[0]
        form = p.metavar or "KEY=VALUE"
        raise p.error(key, owner, constraint=f"{form} items with each key once (give {flag} {key}=... once)",
                      shown=repr(key) + " twice")


def add_parameters(parser: Any, spec: Any, *, skip: Iterable[str] = (), owner: str | None = None,
                   defaults: Mapping[str, Any] | None = None) -> list[str]:
    """Add one option per declared parameter of ``spec`` to ``parser`` (or an argument group).

    Parameters
    ----------
    parser : argparse.ArgumentParser or argument group
        Where the options go.
    spec : class with ``parameters()`` or dict of Param
        The declaration.
    skip : iterable of str
        Parameters the command sets itself (not offered).
    owner : str, optional
        Name used in messages (default: the class name).
    defaults : mapping, optional
        Command defaults that differ from the declaration (rare; the drift test lists them).

    Returns
    -------
    list of str
        The parameter names added (their ``dest`` is the name).
    """
    params = declared(spec)
    owner = owner or getattr(spec, "__name__", "trajml")
    skip = set(skip)
    added = []
    # Recorded on the parser (argument groups share its defaults), for the drift test.
    record = parser._defaults.setdefault("_declared", [])
    record.append((owner, tuple(sorted(skip & set(params)))))
    for name, p in params.items():
        if name in skip or not p.cli:
            continue
        if defaults and name in defaults:
            p = p.replace(default=defaults[name])
        shown, hidden = _flags(p)
        common: dict[str, Any] = {"dest": name, "param": p, "owner": owner}
        if p.kind == "bool":
            const = not p.default if p.default in (True, False) else True
            kwargs = {"nargs": 0, "const": const, "default": p.default}
            if p.default is None:  # a tri-state bool: --x / --no-x
                parser.add_argument(*shown, action=_ParamAction, help=help_text(p), **common, **kwargs)
                parser.add_argument("--no-" + name.replace("_", "-"), action=_ParamAction, nargs=0, const=False,
                                    default=None, help=f"the opposite of {shown[0]}", **common)
                added.append(name)
                continue
        else:
            kwargs = {"default": None if p.default is REQUIRED else p.default, "metavar": _metavar(p)}
            if p.kind in ("floats", "ints", "mapping"):
                kwargs["nargs"] = "+"
            if p.default is REQUIRED:
                # argparse checks a required option once per action: its former names join it (and show).
                kwargs["required"] = True
                shown, hidden = shown + hidden, []
        parser.add_argument(*shown, action=_ParamAction, help=help_text(p), **common, **kwargs)
        for flag in hidden:
            hidden_kwargs = {k: v for k, v in kwargs.items() if k != "required"}
            parser.add_argument(flag, action=_ParamAction, help=argparse.SUPPRESS, former=shown[0], **common,
                                **hidden_kwargs)
        added.append(name)
    return added


def parameters_from_args(args: argparse.Namespace, spec: Any, *, skip: Iterable[str] = (),
                         parser: argparse.ArgumentParser | None = None) -> dict[str, Any]:
    """The keyword arguments of ``spec`` that the parsed options hold (skipped ones left out).

    Raises
    ------
    SystemExit
        A required option was not given (argparse's usage error, when ``parser`` is given).
    """
    out = {}
    for name, p in declared(spec).items():
        if name in set(skip) or not p.cli or not hasattr(args, name):
            continue
        value = getattr(args, name)
        if value is None and p.default is REQUIRED:
            flag = p.cli_flag
            if parser is not None:
                parser.error(f"the following arguments are required: {flag}")
            raise InvalidParameterError(f"the following arguments are required: {flag}", parameter=name)
        out[name] = value
    return out


def render_error(exc: BaseException, spec: Any = None) -> str:
    """An error in command-line words: a parameter named by its flag, not its Python name.

    An error that carries its command-line wording (``cli_message``, e.g. a fix written
    ``--on-damage truncate`` rather than ``on_damage='truncate'``) is shown in it.
    """
    cli = getattr(exc, "cli_message", None)
    if isinstance(cli, str) and cli:
        return cli
    if isinstance(exc, InvalidParameterError) and exc.parameter:
        from trajml.io.reader_options import READER_OPTIONS
        from trajml.parallel.options import RUN_OPTIONS

        params = {**RUN_OPTIONS, **READER_OPTIONS, **(declared(spec) if spec is not None else {})}
        p = params.get(exc.parameter)
        flag = p.cli_flag if p is not None else "--" + exc.parameter.replace("_", "-")
        return f"argument {flag}: {exc.problem}"
    return str(exc)
