"""Graph datasets: neighbour graphs stored on disk, read back as torch-geometric batches (the one bridge to PyG).

:class:`GraphDataset` streams :class:`trajml.features.NeighborGraphs` output chunk by chunk into
fixed-width files (one pair per trajectory: neighbour ids and distances, shape (T, N, K)), so a
graph model can draw random time-lagged frame pairs for many epochs while memory stays bounded
by the batch: frames are read from disk on demand, never the whole trajectory. Rows with fewer
than K neighbours within the cut-off are padded (id -1) and the padding never becomes an edge.

:func:`frames_to_batch` turns frames into one ``torch_geometric.data.Batch``: node ``x`` holds the
species code of every atom, ``edge_index`` runs neighbour → centre, ``edge_dist`` holds the
minimum-image distances in Å and ``readout`` marks the atoms whose states are read out.

Storing and reading graphs needs only NumPy; torch and torch-geometric (the ``deep`` extra) are
imported when a batch is built.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from trajml._files import atomic_write_json

if TYPE_CHECKING:  # pragma: no cover
    import torch
    from torch_geometric.data import Batch

__all__ = ["GraphDataset", "frames_to_batch", "chunk_to_batch", "padded_from_chunk"]

_META = "graphs.json"
_LAYOUT_VERSION = 1


def padded_from_chunk(chunk: Any, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Fixed-width neighbour arrays of a :class:`~trajml.features.GraphChunk` of all atoms.

    Parameters
    ----------
    chunk : trajml.features.GraphChunk
        Graphs whose targets are every atom of the topology, in order.
    width : int
        K, the row width (the featurizer's ``max_neighbors``).

    Returns
    -------
    neighbors : ndarray, shape (F, N, K), int32
        Topology ids, nearest first; -1 pads rows with fewer than K neighbours.
    distances : ndarray, shape (F, N, K), float32
        Distances in Å; padding holds +inf.
    """
    n = len(chunk.species)
    if chunk.n_targets != n or not np.array_equal(chunk.targets, np.arange(n)):
        raise ValueError("Graph models need the neighbour lists of every atom: build the graphs with "
                         "NeighborGraphs(select=None, ...).")
    deg = np.diff(chunk.offsets)
    if deg.size and deg.max() > width:
        raise ValueError(f"A graph row has {int(deg.max())} neighbours, more than the row width {width}: "
                         f"set NeighborGraphs(max_neighbors={width}).")
    rows = chunk.n_frames * n
    nbr = np.full((rows, width), -1, dtype=np.int32)
    dist = np.full((rows, width), np.inf, dtype=np.float32)
    row = np.repeat(np.arange(rows), deg)
    col = np.arange(len(chunk.neighbors)) - np.repeat(chunk.offsets[:-1], deg)
    nbr[row, col] = chunk.neighbors
    dist[row, col] = chunk.distances
    return nbr.reshape(chunk.n_frames, n, width), dist.reshape(chunk.n_frames, n, width)


def frames_to_batch(species: np.ndarray, readout: np.ndarray, neighbors: np.ndarray, distances: np.ndarray,
                    device: torch.device | str = "cpu") -> Batch:
    """One torch-geometric batch holding the graphs of F frames.

    Parameters
    ----------
    species : ndarray, shape (N,), int
        Species code of every atom.
    readout : ndarray, shape (n_targets,), int
        Atoms whose state is read out, in output order.
    neighbors : ndarray, shape (F, N, K), int
        Padded neighbour ids (-1 = none), as from :func:`padded_from_chunk`.
    distances : ndarray, shape (F, N, K), float
        Distances in Å.
    device : torch.device or str
        Where the tensors live.

    Returns
    -------
    torch_geometric.data.Batch
        ``x`` (F·N,) int64 species codes; ``edge_index`` (2, E) neighbour → centre; ``edge_dist`` (E,)
        float32 Å; the same edges as fixed-width rows ``nbr`` (F·N, K) int64 (-1 = none) and
        ``nbr_dist`` (F·N, K) float32 Å; ``readout`` (F·n_targets,) int64 node ids in frame-major
        order; ``batch`` and ``ptr`` as torch-geometric defines them.
    """
    torch, Batch = _torch_batch()
    f, n, k = neighbors.shape
    nb = torch.as_tensor(np.ascontiguousarray(neighbors), device=device).long()
    valid = nb >= 0
    shift = (torch.arange(f, device=device) * n).view(f, 1, 1)
    nbr = torch.where(valid, nb + shift, -1)
    centre = (torch.arange(n, device=device).view(1, n, 1) + shift).expand_as(nb)
    edge_index = torch.stack([nbr[valid], centre[valid]])
    dist = torch.as_tensor(np.ascontiguousarray(distances), device=device).float()
    x = torch.as_tensor(np.array(species), device=device).long().repeat(f)
    ro = (torch.as_tensor(np.array(readout), device=device).long().view(1, -1) + shift.view(f, 1)).reshape(-1)
    batch = torch.arange(f, device=device).repeat_interleave(n)
    ptr = torch.arange(f + 1, device=device) * n
    # nbr / nbr_dist: the same edges as fixed-width rows (centre-major), which the graph VAMPNet
    # reduces densely; their names avoid "index" so torch-geometric never re-shifts them.
    return Batch(x=x, edge_index=edge_index, edge_dist=dist[valid], nbr=nbr.view(f * n, k),
                 nbr_dist=dist.view(f * n, k), readout=ro, batch=batch, ptr=ptr, n_readout=len(readout))


def chunk_to_batch(chunk: Any, readout: np.ndarray, width: int, device: torch.device | str = "cpu") -> Batch:
    """:func:`frames_to_batch` of a :class:`~trajml.features.GraphChunk` of all atoms.

    Parameters
    ----------
    chunk : GraphChunk
        Graphs of all atoms.
    readout : ndarray of int64
        Atom indices of the targets.
    width : int
        Neighbours per row of the padded arrays.
    device : torch.device or str
    """
    nbr, dist = padded_from_chunk(chunk, width)
    return frames_to_batch(chunk.species, readout, nbr, dist, device)


def _torch_batch() -> tuple[Any, Any]:
    """torch and torch-geometric's ``Batch``, imported on first use (the ``deep`` extra)."""
    from trajml.errors import require_extra

    torch = require_extra("torch", "deep", "Building torch-geometric batches of neighbour graphs")
    data: Any = require_extra("torch_geometric.data", "deep", "Building torch-geometric batches of neighbour graphs")
    return torch, data.Batch


@dataclass(frozen=True)
class _Layout:
    n_atoms: int
    width: int

    def frame_bytes(self) -> tuple[int, int]:
        cells = self.n_atoms * self.width
        return cells * 4, cells * 4  # int32 ids, float32 distances


class GraphDataset:
    """Periodic neighbour graphs of every frame of one or more trajectories, stored on disk.

    Build it once with :meth:`from_source` (or :meth:`from_chunks`); reopen it with :meth:`open`.
    Building streams the trajectories chunk by chunk, writes each trajectory to temporary files and
    renames them only when complete, so an interrupted build leaves no half-written trajectory and
    a rebuild into the same directory reuses the trajectories already finished.

    Parameters
    ----------
    directory : str
        The dataset's folder.
    meta : dict
        Its metadata (read by :meth:`open`).

    Attributes
    ----------
    directory : str
        Where the files live.
    species : ndarray, shape (N,), int32
        Species code of every atom.
    species_names : tuple of str
        Label of each code.
    readout : ndarray, shape (n_targets,), int64
        Topology ids of the atoms whose states a model reads out (e.g. every Li⁺).
    max_neighbors : int
        K, neighbours kept per atom and frame.
    r_max : float
        Neighbour cut-off in Å.
    lengths : tuple of int
        Frames per trajectory.
    dt_ps : float
        Time between stored frames in ps (NaN when a trajectory has a single frame).
    """

    def __init__(self, directory: str, meta: dict[str, Any]) -> None:
        self.directory = directory
        self._meta = meta
        self.species = np.asarray(meta["species"], dtype=np.int32)
        self.species_names = tuple(meta["species_names"])
        self.readout = np.asarray(meta["readout"], dtype=np.int64)
        self.max_neighbors = int(meta["max_neighbors"])
        self.r_max = float(meta["r_max"])
        self.lengths = tuple(int(n) for n in meta["lengths"])
        self.dt_ps = float(meta["dt_ps"])
        self._layout = _Layout(len(self.species), self.max_neighbors)

    # -- building -----------------------------------------------------------------------------------
    @classmethod
    def from_source(cls, source: Any, directory: str | os.PathLike[str], readout: Any = "name Li", *,
                    r_max: float = 7.0, max_neighbors: int = 12, chunk_size: int = 100, start: int = 0,
                    stop: int | None = None, step: int = 1, species_by: str = "names", device: str = "cpu",
                    progress: bool = False, scheduler: Any = "serial",
                    n_workers: int | None = None) -> "GraphDataset":
        """Compute and store the graphs of every trajectory of ``source``.

        Parameters
        ----------
        source : trajml.io.Source
            Trajectories with periodic boxes.
        directory : str or path-like
            Output directory (created). A complete dataset of the same source and parameters is
            reopened as is; one of another source or parameters is refused.
        readout : str or array_like of int
            Atoms whose states are read out (selection string or topology ids).
        r_max : float
            Neighbour cut-off in Å.
        max_neighbors : int
            K, neighbours kept per atom (nearest first).
        chunk_size : int
            Frames per streamed chunk: memory is bounded by it.
        start, stop, step : int
            Frame slice of every trajectory.
        species_by : {'names', 'types'}
            Atom attribute that defines species.
        device : {'cpu', 'cuda'}
            Where the neighbour search runs.
        progress : bool
            Show a progress bar over chunks.
        scheduler, n_workers
            Where the graphs are computed (:func:`trajml.parallel.stream`); they are written in order.

        Returns
        -------
        GraphDataset
        """
        from trajml.features import NeighborGraphs
        from trajml.selection import resolve_atoms

        owner = "GraphDataset.from_source"
        if isinstance(max_neighbors, bool) or not isinstance(max_neighbors, (int, np.integer)) or max_neighbors < 1:
            raise ValueError(f"The 'max_neighbors' parameter of {owner} must be an int >= 1. "
                             f"Got {max_neighbors!r} instead.")
        ro = resolve_atoms(source, readout, "readout", owner)
        graphs = NeighborGraphs(None, r_max=r_max, max_neighbors=int(max_neighbors), species_by=species_by,
                                device=device)
        featurizer = graphs.bind(source)
        lengths = source.frames_in_range(start, stop, step)
        params = {"r_max": float(featurizer.r_max), "max_neighbors": int(max_neighbors), "species_by": species_by,
                  "start": int(start), "stop": stop, "step": int(step), "source": source.fingerprint()}

        def chunks(traj_id: int) -> Iterable[Any]:
            # The engine's map: the same frame checks and schedulers as every analysis.
            yield from graphs.iter_graphs(source, chunk_size, start, stop, step, [traj_id], scheduler=scheduler,
                                          n_workers=n_workers, progress=False)

        return cls._build(directory, featurizer._species, featurizer._species_names, ro, lengths, params,
                          chunks, source.dt * step, progress)

    @classmethod
    def from_chunks(cls, chunks: Sequence[Iterable[Any]], directory: str | os.PathLike[str], readout: Any, *,
                    species: Any, species_names: Sequence[str], max_neighbors: int, r_max: float,
                    lengths: Sequence[int], dt_ps: float) -> "GraphDataset":
        """Store graphs already computed, one iterable of GraphChunks per trajectory.

        Parameters
        ----------
        chunks : sequence of iterables of GraphChunk
            Per trajectory, its chunks in time order (targets: every atom). Trajectories already
            complete in ``directory`` are not iterated.
        directory : str or path-like
            Output directory.
        readout : array_like of int
            Topology ids read out by a model.
        species : array_like of int, shape (N,)
            Species code of every atom.
        species_names : sequence of str
            Label of each code.
        max_neighbors : int
            K, the width of every row.
        r_max : float
            Cut-off the graphs were built with, in Å.
        lengths : sequence of int
            Frames per trajectory.
        dt_ps : float
            Time between frames in ps.

        Returns
        -------
        GraphDataset
        """
        if len(chunks) != len(lengths):
            raise ValueError(f"GraphDataset.from_chunks got {len(chunks)} trajectories of chunks but "
                             f"{len(lengths)} lengths.")
        params = {"r_max": float(r_max), "max_neighbors": int(max_neighbors), "source": "chunks"}
        return cls._build(directory, np.asarray(species, dtype=np.int32), tuple(species_names),
                          np.asarray(readout, dtype=np.int64), list(lengths), params, lambda k: chunks[k],
                          float(dt_ps), False)

    @classmethod
    def _build(cls, directory: str | os.PathLike[str], species: np.ndarray, species_names: tuple[str, ...],
               readout: np.ndarray, lengths: list[int], params: dict[str, Any], chunks: Any, dt_ps: float,
               progress: bool) -> "GraphDataset":
        d = os.fspath(directory)
        os.makedirs(d, exist_ok=True)
        meta = {"layout_version": _LAYOUT_VERSION, "species": np.asarray(species).tolist(),
                "species_names": list(species_names), "readout": np.asarray(readout).tolist(),
                "lengths": [int(n) for n in lengths], "dt_ps": float(dt_ps), **params}
        meta_path = os.path.join(d, _META)
        if os.path.exists(meta_path):
            with open(meta_path) as fh:
                old = json.load(fh)
            if old != json.loads(json.dumps(meta)):
                raise ValueError(f"Directory '{d}' holds a graph dataset of another source or other parameters; "
                                 "give a new directory or delete it.")
            return cls(d, old)
        layout = _Layout(len(species), int(params["max_neighbors"]))
        nb_bytes, di_bytes = layout.frame_bytes()
        bar = _progress(sum(lengths), progress)
        for k, n_frames in enumerate(lengths):
            nb_path, di_path = _paths(d, k)
            if (os.path.exists(nb_path) and os.path.getsize(nb_path) == n_frames * nb_bytes
                    and os.path.getsize(di_path) == n_frames * di_bytes):
                bar.update(n_frames)
                continue  # finished by an interrupted earlier build
            written = 0
            with tempfile.NamedTemporaryFile(dir=d, prefix=f".traj{k}.", suffix=".nbr", delete=False) as fn, \
                    tempfile.NamedTemporaryFile(dir=d, prefix=f".traj{k}.", suffix=".dist", delete=False) as fd:
                try:
                    for chunk in chunks(k):
                        if tuple(chunk.species_names) != tuple(species_names):
                            raise ValueError(f"Trajectory {k} has species {chunk.species_names}; the dataset has "
                                             f"{tuple(species_names)}.")
                        nbr, dist = padded_from_chunk(chunk, layout.width)
                        fn.write(nbr.tobytes())
                        fd.write(dist.tobytes())
                        written += len(nbr)
                        bar.update(len(nbr))
                except BaseException:
                    for tmp in (fn.name, fd.name):
                        _unlink(tmp)
                    raise
            if written != n_frames:
                for tmp in (fn.name, fd.name):
                    _unlink(tmp)
                raise ValueError(f"Trajectory {k} gave {written} frames of graphs; {n_frames} were expected.")
            os.replace(fd.name, di_path)
            os.replace(fn.name, nb_path)
        bar.close()
        atomic_write_json(meta_path, meta)
        return cls(d, json.loads(json.dumps(meta)))

    @classmethod
    def open(cls, directory: str | os.PathLike[str]) -> "GraphDataset":
        """Reopen a dataset written by :meth:`from_source` or :meth:`from_chunks`."""
        d = os.fspath(directory)
        meta_path = os.path.join(d, _META)
        if not os.path.exists(meta_path):
            raise FileNotFoundError(f"Directory '{d}' holds no complete graph dataset (no '{_META}').")
        with open(meta_path) as fh:
            meta = json.load(fh)
        if meta.get("layout_version") != _LAYOUT_VERSION:
            raise ValueError(f"Graph dataset '{d}' has layout version {meta.get('layout_version')}; this trajml "
                             f"reads version {_LAYOUT_VERSION}. Rebuild it.")
        return cls(d, meta)

    def delete(self) -> None:
        """Remove the directory and its files."""
        shutil.rmtree(self.directory, ignore_errors=True)

    # -- reading ------------------------------------------------------------------------------------
    @property
    def n_trajectories(self) -> int:
        """int: trajectories stored."""
        return len(self.lengths)

    @property
    def n_targets(self) -> int:
        """int: readout atoms per frame."""
        return len(self.readout)

    def read(self, traj_id: int, frames: Any) -> tuple[np.ndarray, np.ndarray]:
        """Neighbour ids and distances of some frames of one trajectory.

        Parameters
        ----------
        traj_id : int
            Trajectory.
        frames : array_like of int
            Frame numbers (0-based, within the stored slice), any order, repeats allowed.

        Returns
        -------
        neighbors : ndarray, shape (F, N, K), int32
        distances : ndarray, shape (F, N, K), float32
            Distances in Å.
        """
        frames = np.asarray(frames, dtype=np.int64).ravel()
        n = self.lengths[traj_id]
        if frames.size and (frames.min() < 0 or frames.max() >= n):
            raise IndexError(f"Frames must lie in [0, {n}) for trajectory {traj_id} of '{self.directory}'.")
        shape = (self._layout.n_atoms, self._layout.width)
        nb_bytes, di_bytes = self._layout.frame_bytes()
        nbr = np.empty((len(frames),) + shape, dtype=np.int32)
        dist = np.empty((len(frames),) + shape, dtype=np.float32)
        nb_path, di_path = _paths(self.directory, traj_id)
        # Positional reads into our own buffers: pages of the files never stay mapped, so memory
        # stays bounded by the batch whatever the trajectory length. Consecutive frames are one read.
        with open(nb_path, "rb") as fn, open(di_path, "rb") as fd:
            for lo, hi, out_lo in _runs(frames):
                cnt = hi - lo
                fn.seek(lo * nb_bytes)
                fn.readinto(memoryview(nbr[out_lo:out_lo + cnt]).cast("B"))
                fd.seek(lo * di_bytes)
                fd.readinto(memoryview(dist[out_lo:out_lo + cnt]).cast("B"))
        return nbr, dist

    def batch(self, traj_id: int, frames: Any, device: torch.device | str = "cpu") -> Batch:
        """:func:`frames_to_batch` of some frames of one trajectory."""
        nbr, dist = self.read(traj_id, frames)
        return frames_to_batch(self.species, self.readout, nbr, dist, device)

    def __repr__(self) -> str:
        return (f"GraphDataset('{self.directory}', {self.n_trajectories} trajectories, {sum(self.lengths)} frames, "
                f"{len(self.species)} atoms, K={self.max_neighbors}, {self.n_targets} readout atoms)")


def _runs(frames: np.ndarray) -> list[tuple[int, int, int]]:
    """Maximal runs of consecutive increasing frames: (first, last + 1, position in the output)."""
    if frames.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(frames) != 1) + 1
    starts = np.concatenate([[0], breaks])
    stops = np.concatenate([breaks, [frames.size]])
    return [(int(frames[s]), int(frames[e - 1]) + 1, int(s)) for s, e in zip(starts, stops)]


def _paths(directory: str, k: int) -> tuple[str, str]:
    return os.path.join(directory, f"traj{k}.nbr"), os.path.join(directory, f"traj{k}.dist")


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _progress(total: int, enabled: bool) -> Any:
    if not enabled:
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="frame", desc="graphs")
