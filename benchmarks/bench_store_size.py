"""Bytes of the demo pipeline's results store: arrays as JSON lists (the JSON-era store) against arrays.nc.

Runs the bundled demo pipeline (``spe_demo`` on the bundled sample, serial) into ``--workdir``, once
per store precision (``float64``, the lossless default, and the opt-in ``float32``), and measures per
unit:

- ``json_era``: the result as the store wrote it before arrays.nc, every array a JSON list in
  ``result.json`` (``json.dumps(result, sort_keys=True, indent=1)``, as that store did), written to
  disk here so that its blocks can be counted too;
- ``now``: ``result.json`` (numbers, labels, placeholders) plus ``arrays.nc``, as stored;
- each in apparent bytes (``st_size``) and in allocated blocks (``st_blocks * 512``, what ``du``
  counts); the ratios use apparent bytes unless named ``_blocks``. The files both stores hold alike
  (``entry.json``, ``sha256.json``, CSV tables, PNG figures) are counted apart, as ``same_in_both``.

For the lossless store it also says where the bytes of ``arrays.nc`` go (array data as stored,
HDF5 object headers, the global heap that holds the dimension lists, the rest) and how far any
lossless coder could go: each array's smallest size under gzip -9, bzip2 -9 and xz -9e of its
bytes as they are or shuffled (byte 0 of every value, then byte 1, ...), and the order-0 entropy of
each byte of the largest float64 array. The float32 store's arrays are compared with the lossless
store's: the largest relative difference per unit, and whether they are exactly the float64 values
rounded to float32 (a unit whose inputs come from another unit's rounded arrays can differ more).

    python benchmarks/bench_store_size.py --workdir bench-out --out benchmarks/results/bench_store_size.json
"""

from __future__ import annotations

import argparse
import bz2
import json
import lzma
import os
import re
import shutil
import sys
import tempfile
import time
import zlib
from typing import Any

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402

ARRAY_FILES = ("result.json", "arrays.nc")


def _sizes(path: str) -> tuple[int, int]:
    st = os.stat(path)
    return st.st_size, st.st_blocks * 512


def _run(workdir: str, precision: str) -> tuple[str, list[dict[str, Any]], float]:
    from trajml.pipelines import bundled_pipeline, run_pipeline

    out = os.path.join(workdir, f"demo_{precision}")
    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    summary = run_pipeline(bundled_pipeline("spe_demo"), scheduler="serial", outputs=out, progress=False,
                           report=False, store_precision=precision)
    if summary.failures:
        raise RuntimeError(f"the demo failed: {summary.text()}")
    units = [{"stage_id": o.stage_id, "key": o.key} for o in summary.outcomes]
    return out, units, time.perf_counter() - t0


def _measure(out: str, units: list[dict[str, Any]], era_dir: str) -> dict[str, Any]:
    from trajml.store.results import ResultStore, _jsonable

    store = ResultStore(os.path.join(out, "store"))
    rows, totals = [], {k: 0 for k in ("json_era", "json_era_blocks", "now", "now_blocks", "result_json",
                                       "arrays_nc", "same_in_both", "same_in_both_blocks")}
    for u in units:
        entry = store.get(u["key"])
        era = os.path.join(era_dir, u["key"][:16])
        os.makedirs(era, exist_ok=True)
        with open(os.path.join(era, "result.json"), "w", encoding="utf-8") as fh:
            fh.write(json.dumps(_jsonable(entry.data), sort_keys=True, indent=1))
        j, jb = _sizes(os.path.join(era, "result.json"))
        r, rb = _sizes(entry.file("result.json"))
        a, ab = _sizes(entry.file("arrays.nc")) if os.path.isfile(entry.file("arrays.nc")) else (0, 0)
        same = [_sizes(entry.file(n)) for n in os.listdir(entry.path) if n not in ARRAY_FILES]
        row = {"stage_id": u["stage_id"], "json_era": j, "json_era_blocks": jb, "result_json": r, "arrays_nc": a,
               "now": r + a, "now_blocks": rb + ab, "same_in_both": sum(s for s, _ in same),
               "same_in_both_blocks": sum(b for _, b in same), "ratio": j / (r + a), "ratio_blocks": jb / (rb + ab)}
        rows.append(row)
        for k in totals:
            totals[k] += row[k]
    totals["ratio"] = totals["json_era"] / totals["now"]
    totals["ratio_blocks"] = totals["json_era_blocks"] / totals["now_blocks"]
    totals["ratio_whole_entries"] = ((totals["json_era"] + totals["same_in_both"])
                                     / (totals["now"] + totals["same_in_both"]))
    return {"units": rows, "total": totals}


def _arrays_path(out: str, key: str) -> str:
    return os.path.join(out, "store", "objects", key[:2], key, "arrays.nc")


def _anatomy(path: str) -> dict[str, Any]:
    """Where the bytes of one arrays.nc go."""
    import h5py

    raw = open(path, "rb").read()
    heaps = len(re.findall(b"GCOL", raw))
    data = headers = payload = n_vars = n_dims = 0
    with h5py.File(path, "r") as f:
        headers += h5py.h5o.get_info(f.id).hdr.space.total
        for name in f:
            d = f[name]
            headers += h5py.h5o.get_info(d.id).hdr.space.total
            if d.attrs.get("CLASS") == b"DIMENSION_SCALE" and b"not a netCDF variable" in d.attrs.get("NAME", b""):
                n_dims += 1
                continue
            n_vars += 1
            data += d.id.get_storage_size()
            payload += d.size * d.dtype.itemsize if d.dtype.kind in "fi" else 0
    return {"file": len(raw), "array_bytes_raw": payload, "array_bytes_stored": data, "object_headers": headers,
            "global_heap_collections": heaps, "rest": len(raw) - data - headers, "variables": n_vars,
            "dimensions_without_variable": n_dims}


def _best_lossless(values: np.ndarray) -> tuple[int, str]:
    layouts = {"as is": values.tobytes(),
               "shuffled": np.ascontiguousarray(values).view(np.uint8).reshape(-1, values.itemsize).T.tobytes()}
    best = (values.nbytes, "none")
    xz = [{"id": lzma.FILTER_LZMA2, "preset": 9 | lzma.PRESET_EXTREME}]
    for lay, raw in layouts.items():
        for coder, size in (("gzip-9", len(zlib.compress(raw, 9))), ("bzip2-9", len(bz2.compress(raw, 9))),
                            ("xz-9e", len(lzma.compress(raw, format=lzma.FORMAT_RAW, filters=xz)))):
            if size < best[0]:
                best = (size, f"{coder}, {lay}")
    return best


def _entropy_bound(out: str, units: list[dict[str, Any]]) -> dict[str, Any]:
    from trajml.store.arrays import split_arrays
    from trajml.store.results import ResultStore

    store = ResultStore(os.path.join(out, "store"))
    total_raw = total_best = 0
    largest: tuple[int, str, np.ndarray] = (0, "", np.zeros(0))
    for u in units:
        _, arrays = split_arrays(store.get(u["key"]).data)
        for name, spec in arrays.items():
            if spec.get("labels"):
                continue
            v = spec["values"]
            total_raw += v.nbytes
            total_best += _best_lossless(v)[0]
            if v.dtype.kind == "f" and v.size > largest[0]:
                largest = (v.size, f"{u['stage_id']}: {name}", v)
    _, name, v = largest
    planes = np.ascontiguousarray(v).view(np.uint8).reshape(-1, 8)
    bits = []
    for j in range(8):  # little-endian: byte 0 is the lowest of the mantissa, byte 7 sign and exponent
        p = np.bincount(planes[:, j], minlength=256) / planes.shape[0]
        p = p[p > 0]
        bits.append(float(-(p * np.log2(p)).sum()))
    best, coder = _best_lossless(v)
    return {"arrays_raw_bytes": total_raw, "arrays_best_lossless_bytes": total_best,
            "largest_array": {"name": name, "shape": list(v.shape), "raw_bytes": v.nbytes, "best_lossless_bytes": best,
                              "best_coder": coder, "byte_entropy_bits_low_to_high": [round(b, 3) for b in bits],
                              "order0_entropy_bytes": float(sum(bits) / 8 * v.size)}}


def _compare(out64: str, out32: str, units64: list[dict[str, Any]], units32: list[dict[str, Any]]) -> list[dict]:
    from trajml.store.arrays import split_arrays
    from trajml.store.results import ResultStore

    s64, s32 = ResultStore(os.path.join(out64, "store")), ResultStore(os.path.join(out32, "store"))
    rows = []
    for u64, u32 in zip(units64, units32):
        _, a64 = split_arrays(s64.get(u64["key"]).data)
        _, a32 = split_arrays(s32.get(u32["key"]).data)
        worst, rounded, same_names = 0.0, True, set(a64) == set(a32)
        for name in set(a64) & set(a32):
            x, y = a64[name]["values"], a32[name]["values"]
            if a64[name].get("labels") or x.dtype.kind != "f" or x.shape != y.shape:
                continue
            ok = np.isfinite(x) & (x != 0)
            if ok.any():
                worst = max(worst, float(np.max(np.abs(y[ok] - x[ok]) / np.abs(x[ok]))))
            rounded &= bool(np.array_equal(x.astype(np.float32).astype(np.float64), y, equal_nan=True))
        rows.append({"stage_id": u64["stage_id"], "max_relative_difference": worst,
                     "exactly_float64_rounded_to_float32": rounded, "same_variables": same_names})
    return rows


def _xarray_check(out: str, units: list[dict[str, Any]]) -> dict[str, Any]:
    import xarray as xr

    from trajml.store.results import ResultStore

    store = ResultStore(os.path.join(out, "store"))
    opened = with_units = variables = 0
    for u in units:
        with xr.open_dataset(store.get(u["key"]).file("arrays.nc")) as ds:
            opened += 1
            variables += len(ds.variables)
            with_units += sum("units" in ds[v].attrs for v in ds.variables)
    return {"files_opened_by_xarray_open_dataset": opened, "variables": variables, "variables_with_units": with_units}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--workdir", default=os.path.join(tempfile.gettempdir(), "trajml-bench-store"),
                   help="folder for the demo's outputs (replaced)")
    p.add_argument("--out", default=None, help="JSON results file")
    args = p.parse_args()
    load0 = open("/proc/loadavg").read().split()[:3] if os.path.exists("/proc/loadavg") else None
    results: dict[str, Any] = {"benchmark": "bench_store_size", "pipeline": "spe_demo (bundled sample), serial",
                               "environment": _common.environment(("numpy", "h5py", "h5netcdf", "xarray", "trajml")),
                               "load_average_before": load0}
    runs = {}
    for precision in ("float64", "float32"):
        out, units, seconds = _run(args.workdir, precision)
        era = os.path.join(args.workdir, f"json_era_{precision}")
        shutil.rmtree(era, ignore_errors=True)
        runs[precision] = (out, units)
        results[precision] = {"run_seconds": seconds, **_measure(out, units, era), "xarray": _xarray_check(out, units)}
        t = results[precision]["total"]
        print(f"{precision}: JSON era {t['json_era']} B, now {t['now']} B (result.json {t['result_json']} + "
              f"arrays.nc {t['arrays_nc']}): {t['ratio']:.2f}x; blocks {t['ratio_blocks']:.2f}x")
    out64, units64 = runs["float64"]
    # the float32 store against the lossless JSON era (today's JSON arrays hold every bit)
    t32, t64 = results["float32"]["total"], results["float64"]["total"]
    t32["ratio_vs_lossless_json_era"] = t64["json_era"] / t32["now"]
    t32["ratio_blocks_vs_lossless_json_era"] = t64["json_era_blocks"] / t32["now_blocks"]
    for u32, u64 in zip(results["float32"]["units"], results["float64"]["units"]):
        u32["ratio_vs_lossless_json_era"] = u64["json_era"] / u32["now"]
    print(f"float32 against the lossless JSON era: {t32['ratio_vs_lossless_json_era']:.2f}x")
    results["float64"]["anatomy"] = {u["stage_id"]: _anatomy(_arrays_path(out64, u["key"])) for u in units64}
    anatomy = results["float64"]["anatomy"].values()
    results["float64"]["anatomy_total"] = {k: sum(a[k] for a in anatomy) for k in (
        "file", "array_bytes_raw", "array_bytes_stored", "object_headers", "global_heap_collections", "rest",
        "variables", "dimensions_without_variable")}
    results["lossless_bound"] = _entropy_bound(out64, units64)
    results["float32_vs_float64"] = _compare(out64, runs["float32"][0], units64, runs["float32"][1])
    results["load_average_after"] = (open("/proc/loadavg").read().split()[:3] if os.path.exists("/proc/loadavg")
                                     else None)
    b, a = results["lossless_bound"], results["float64"]["anatomy_total"]
    results["five_times_budget"] = results["float64"]["total"]["json_era"] / 5
    print(f"lossless bound: arrays {b['arrays_raw_bytes']} B raw, {b['arrays_best_lossless_bytes']} B at best; "
          f"a 5x store would hold {results['five_times_budget']:.0f} B in all; the arrays.nc files hold "
          f"{a['array_bytes_stored']} B of array data and {a['object_headers'] + a['rest']} B of HDF5 metadata")
    _common.write_results(args.out, results)


if __name__ == "__main__":
    main()
