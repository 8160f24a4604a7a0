"""The API reference, generated at build time: one page per subject, every public name on it.

A *public name* is an entry of ``__all__`` of a public namespace: ``trajml`` itself, every
subpackage (``trajml.transport``, ``trajml.kinetics.deep``, ...), the core modules listed in
``trajml._SUBMODULES`` and every module of ``trajml.kernels``. ``trajml.models`` is left out: it
is the deprecated alias of former paths. :data:`SUBJECTS` assigns each namespace to a page;
``tests/docs/test_api_reference_docs.py`` fails when a namespace has no page or a name is missing
from the built site.

An object exported by several namespaces (``trajml.RDF`` is ``trajml.features.RDF``) is described
once, in the first namespace that exports it in :data:`SUBJECTS` order (``trajml`` itself last); the
others list it as an alias with a link.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from pathlib import Path
from types import ModuleType

#: (page, title, intro, namespaces): the API reference's pages in order.
SUBJECTS: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("io", "I/O and sample data",
     "Sources, readers and the bundled samples. Positions are float32 Å, boxes (F, 3, 3) Å, times float64 ps.",
     ("trajml.io", "trajml.data", "trajml.mda", "trajml.box", "trajml.chunk", "trajml.selection", "trajml.species",
      "trajml.periodic", "trajml.unwrap")),
    ("core", "Core: parameters, results, units, errors, engine",
     "Declared parameters, frozen results with units, CODATA constants, the errors trajml raises and the "
     "one parallel engine.",
     ("trajml", "trajml.base", "trajml.results", "trajml.units", "trajml.errors", "trajml.accumulators",
      "trajml.parallel")),
    ("structure", "Structure", "Frame-partitioned featurizers: g(r), coordination, solvation, shells, graphs.",
     ("trajml.features",)),
    ("transport", "Transport", "MSD, diffusion, conductivity, residence times and temperature series.",
     ("trajml.transport",)),
    ("kinetics", "Kinetics", "Covariances, TICA, Markov models, soft validation, VAMPNets and the workflow.",
     ("trajml.kinetics", "trajml.kinetics.deep", "trajml.workflows")),
    ("fes", "Free energy", "Free-energy surfaces of 1-3 collective variables, minima and minimum paths.",
     ("trajml.fes",)),
    ("extrapolation", "Extrapolation", "Converged transport from short runs: tables, baselines, multitask GNN.",
     ("trajml.extrapolation", "trajml.extrapolation.deep")),
    ("pipelines", "Pipelines, store and command line",
     "Batch pipelines (YAML), the results and model stores, the command-line entry point.",
     ("trajml.pipelines", "trajml.pipelines.stages", "trajml.store", "trajml.cli")),
    ("plotting", "Plotting", "matplotlib figures of Results; compute classes never plot.", ("trajml.plotting",)),
    ("simulation", "Simulation", "Coarse-grained and all-atom PEO/LiTFSI simulations with OpenMM ([sim] extra).",
     ("trajml.sim",)),
    ("kernels", "Kernels", "numba kernels on plain arrays (Å), their NumPy references and CUDA twins.",
     ("trajml.kernels.correlation", "trajml.kernels.counts", "trajml.kernels.extents", "trajml.kernels.geometry",
      "trajml.kernels.histograms", "trajml.kernels.knn", "trajml.kernels.msd", "trajml.kernels.receptive_field",
      "trajml.kernels.neighbors", "trajml.kernels.neighbors_cuda", "trajml.kernels.neighbors_reference",
      "trajml.kernels.reference", "trajml.kernels.shells", "trajml.kernels.unwrap", "trajml.kernels.xtc",
      "trajml.kernels.cuda")),
)

#: Deprecated aliases of former paths: not documented (the reference shows the new names).
EXCLUDED = ("trajml.models",)


def _private(name: str) -> bool:
    return any(part.startswith("_") for part in name.split("."))


def public_namespaces() -> list[str]:
    """Every public namespace of the installed package (see the module docstring), sorted."""
    import trajml

    found = {"trajml"}
    found.update(f"trajml.{m}" for m in trajml._SUBMODULES)
    # trajml.kernels and trajml.pipelines live in folders of their own (package-dir)
    roots = [(trajml.__path__, "trajml.")] + [(importlib.import_module(f"trajml.{p}").__path__, f"trajml.{p}.")
                                              for p in ("kernels", "pipelines")]
    infos = [i for path, prefix in roots for i in pkgutil.walk_packages(path, prefix)]
    for info in infos:
        if _private(info.name) or info.name.startswith(EXCLUDED):
            continue
        if info.ispkg or (info.name.startswith("trajml.kernels.") and info.name.count(".") == 2):
            found.add(info.name)
    found = {n for n in found if not n.startswith(EXCLUDED)}
    # packages without __all__ whose modules are listed one by one (trajml.kernels)
    return sorted(n for n in found if _has_names(n))


def _has_names(namespace: str) -> bool:
    module = importlib.import_module(namespace)
    return bool(public_names_of(module))


def public_names_of(module: ModuleType) -> list[str]:
    """``__all__`` of a module, or its public functions and classes defined there when it has none."""
    names = getattr(module, "__all__", None)
    if names is not None:
        return [n for n in names if not n.startswith("__")]
    return sorted(n for n, v in vars(module).items() if not n.startswith("_")
                  and (inspect.isfunction(v) or inspect.isclass(v)) and v.__module__ == module.__name__)


def public_names() -> dict[str, list[str]]:
    """namespace -> its public names."""
    return {ns: public_names_of(importlib.import_module(ns)) for ns in public_namespaces()}


def _kind(obj: object) -> str:
    if inspect.isclass(obj):
        return "exception" if issubclass(obj, BaseException) else "class"
    if callable(obj) and not isinstance(obj, type):
        return "function"
    return "data"


def _canonical_owners() -> dict[int, str]:
    """id(object) -> ``namespace.name`` where it is described (first exporter in SUBJECTS order)."""
    owners: dict[int, str] = {}
    ordered = [ns for *_, namespaces in SUBJECTS for ns in namespaces]
    # ``trajml`` re-exports the most used names: describe them in their subject's namespace
    for ns in [n for n in ordered if n != "trajml"] + ["trajml"]:
        module = importlib.import_module(ns)
        for name in public_names_of(module):
            obj = getattr(module, name)
            if _kind(obj) != "data":
                owners.setdefault(id(obj), f"{ns}.{name}")
    return owners


def page_text(page: str, title: str, intro: str, namespaces: tuple[str, ...], owners: dict[int, str]) -> str:
    """The reST of one API page."""
    lines = [f".. _api-{page}:", "", title, "=" * len(title), "", intro, ""]
    for ns in namespaces:
        module = importlib.import_module(ns)
        names = public_names_of(module)
        lines += [ns, "-" * len(ns), "", f".. py:module:: {ns}", "   :no-index:", "",
                  f".. currentmodule:: {ns}", ""]
        summary = (inspect.getdoc(module) or "").split("\n\n")[0].strip()
        if summary:
            lines += [summary, ""]
        aliases = []
        for name in names:
            obj = getattr(module, name)
            kind = _kind(obj)
            owner = owners.get(id(obj))
            if kind != "data" and owner != f"{ns}.{name}":
                aliases.append((name, kind, owner))
                continue
            directive = {"class": "autoclass", "exception": "autoexception", "function": "autofunction",
                         "data": "autodata"}[kind]
            lines += [f".. {directive}:: {name}"]
            if kind in ("class", "exception"):
                lines += ["   :members:", "   :show-inheritance:"]
            if kind == "data":
                lines += ["   :no-value:"] if not _short(obj) else []
                lines += ["", f"   ``{ns}.{name}``: {_data_doc(obj)}"]
            lines += [""]
        if aliases:
            lines += ["Also exported here:", ""]
            for name, kind, owner in aliases:
                role = "exc" if kind == "exception" else "class" if kind == "class" else "func"
                lines += [f"- ``{ns}.{name}``: the same object as :py:{role}:`{owner}`"]
            lines += [""]
    return "\n".join(lines) + "\n"


def _short(obj: object) -> bool:
    return len(repr(obj)) <= 80


def _data_doc(obj: object) -> str:
    return f"a ``{type(obj).__name__}``."


def write_pages(folder: Path) -> list[str]:
    """Write ``index.rst`` and one page per subject into ``folder``; returns the page names."""
    folder.mkdir(parents=True, exist_ok=True)
    owners = _canonical_owners()
    pages = []
    for page, title, intro, namespaces in SUBJECTS:
        _write_if_changed(folder / f"{page}.rst", page_text(page, title, intro, namespaces, owners))
        pages.append(page)
    index = ["API reference", "=============", "",
             "Every public name of trajml, by subject, generated from the numpydoc docstrings. Units: lengths "
             "in Å, times in ps, energies in kJ/mol, charges in e, temperatures in K; each parameter's type line "
             "gives its shape, dtype and unit.", "", ".. toctree::", "   :maxdepth: 1", ""]
    index += [f"   {p}" for p in pages]
    _write_if_changed(folder / "index.rst", "\n".join(index) + "\n")
    return pages


def _write_if_changed(path: Path, text: str) -> None:
    # Unchanged pages keep their mtime, so an incremental build does not reread them.
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def _generate(app) -> None:
    write_pages(Path(app.srcdir) / "api")


def setup(app):
    app.connect("builder-inited", _generate)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
