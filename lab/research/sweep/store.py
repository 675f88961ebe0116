"""Where sweeps are stored and how they are read back: ``<data>/sweeps/<sweep_id>/``
with ``manifest.json`` and ``chunks/<chunk_id>.parquet``; ``SweepResult``, ``load_sweep``
and ``list_sweeps``.

Every file is written to a temporary name in its folder, flushed and fsynced, then
moved into place with ``os.replace`` (atomic on POSIX and Windows): a reader or a
resumed sweep sees a whole file or none. A chunk is finished exactly when its file
exists.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from lab.core.errors import ConfigError, DataError
from lab.core.files import write_atomic
from lab.core.ids import dataset_id
from lab.core.paths import data_path
from lab.research.sweep.spec import SweepSpec

MANIFEST = "manifest.json"
CHUNKS = "chunks"
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


def sweeps_root(root: str | Path | None = None) -> Path:
    """``<data>/sweeps`` (``root`` as in ``lab.core.paths.data_root``)."""
    return data_path("sweeps", root)


class SweepResult:
    """A sweep on disk and its results.

    Attributes
    ----------
    id : str
        Sweep id (folder name under ``<root>/sweeps``).
    path : Path
        ``<root>/sweeps/<id>``.
    spec : SweepSpec
    manifest : dict
        The parsed ``manifest.json``.
    results : DataFrame
        One row per finished set, sorted by ``set_id``: ``set_id`` (int64),
        ``strategy``, ``symbol``, ``timeframe``, ``params`` (JSON, sorted keys),
        ``param_<name>`` (float64, NaN where the strategy has no such parameter),
        ``sl``, ``tp`` (fractions, NaN = off), ``leverage``, then the metrics of
        ``BacktestResult.metrics`` (``lab.kernels.sweep.STAT_NAMES``: total_return ..
        liquidations, bars, periods_per_year, skew, kurtosis), all float64. Read from
        the chunk files on first access (memory grows with the sweep: for large sweeps
        use ``lab.research.sweep.streamed``, which reads them in bounded batches).
    """

    def __init__(self, id: str, path: Path, spec: SweepSpec,
                 results: pd.DataFrame | None = None, manifest: dict | None = None):
        self.id = id
        self.path = Path(path)
        self.spec = spec
        self.manifest = manifest if manifest is not None else (read_manifest(self.path) or {})
        self._results = results

    @property
    def results(self) -> pd.DataFrame:
        if self._results is None:
            self._results = read_results(self.path, self.manifest)
        return self._results

    @property
    def loaded(self) -> bool:
        """True when ``results`` has been read into memory."""
        return self._results is not None

    @property
    def done_sets(self) -> int:
        """Rows of the finished chunks (without reading them)."""
        done = done_chunks(self.path, self.manifest)
        return int(sum(c["sets"] for c in self.manifest.get("chunks", []) if c["id"] in done))

    @property
    def complete(self) -> bool:
        """True when every chunk of the plan has finished."""
        return self.manifest.get("status") == "complete"

    def __repr__(self) -> str:
        return (f"SweepResult(id={self.id!r}, path={str(self.path)!r}, "
                f"done_sets={self.manifest.get('done_sets')}, "
                f"status={self.manifest.get('status')!r})")


def now_iso() -> str:
    """Current UTC time, ISO 8601 with seconds."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def check_id(sweep_id: str) -> str:
    """Raise ``ConfigError`` unless ``sweep_id`` is a safe folder name."""
    if not isinstance(sweep_id, str) or not _ID.match(sweep_id) or ".." in sweep_id:
        raise ConfigError(f"sweep id {sweep_id!r} must be 1-128 letters, digits, '-', '_' "
                          "or '.', starting with a letter or digit")
    return sweep_id


def sweep_dir(sweeps: Path, sweep_id: str) -> Path:
    """``<sweeps>/<sweep_id>`` (the id checked)."""
    return Path(sweeps) / check_id(sweep_id)


def write_manifest(path: Path, manifest: dict) -> None:
    """Write ``<path>/manifest.json`` atomically."""
    text = json.dumps(manifest, indent=1, allow_nan=False).encode("utf-8")
    write_atomic(path / MANIFEST, lambda fh: fh.write(text))


def read_manifest(path: Path) -> dict | None:
    """The parsed manifest of the sweep folder ``path``, or None if there is none."""
    try:
        return json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None


def chunk_path(path: Path, chunk_id: str) -> Path:
    """``<path>/chunks/<chunk_id>.parquet``."""
    return path / CHUNKS / f"{chunk_id}.parquet"


def write_chunk(path: Path, chunk_id: str, frame: pd.DataFrame) -> None:
    """Write one chunk's rows atomically (Parquet, zstd)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=False)
    write_atomic(chunk_path(path, chunk_id),
                 lambda fh: pq.write_table(table, fh, compression="zstd"))


def done_chunks(path: Path, manifest: dict) -> set[str]:
    """Ids of the plan's chunks whose file exists."""
    folder = path / CHUNKS
    present = {p.stem for p in folder.glob("*.parquet")} if folder.is_dir() else set()
    return {c["id"] for c in manifest["chunks"] if c["id"] in present}


def read_results(path: Path, manifest: dict) -> pd.DataFrame:
    """Rows of every finished chunk, in ``set_id`` order (empty frame with the
    manifest's columns when none has finished)."""
    done = done_chunks(path, manifest)
    frames = [pd.read_parquet(chunk_path(path, c["id"]))
              for c in manifest["chunks"] if c["id"] in done]
    if not frames:
        return empty_results(manifest["columns"])
    out = pd.concat(frames, ignore_index=True)
    return out.sort_values("set_id", kind="stable").reset_index(drop=True)


def empty_results(columns: dict[str, str]) -> pd.DataFrame:
    """A frame with no rows and the given ``{column: dtype}``."""
    return pd.DataFrame({c: pd.Series(dtype=d) for c, d in columns.items()})


def list_manifests(sweeps: Path) -> pd.DataFrame:
    """One row per sweep folder with a manifest (see ``lab.research.sweep.list_sweeps``)."""
    cols = ["id", "created_at", "strategies", "symbols", "sets", "done_sets", "engine",
            "status"]
    rows: list[dict[str, Any]] = []
    for mpath in sorted(Path(sweeps).glob(f"*/{MANIFEST}")):
        try:
            m = json.loads(mpath.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue                    # removed or being replaced
        done = done_chunks(mpath.parent, m)
        done_sets = sum(c["sets"] for c in m["chunks"] if c["id"] in done)
        spec = m["spec"]
        rows.append({
            "id": m["id"], "created_at": m["created_at"],
            "strategies": ",".join(spec["strategies"]),
            "symbols": ",".join(dataset_id(s, tf) for s, tf in spec["symbols"]),
            "sets": int(m["total_sets"]), "done_sets": int(done_sets),
            "engine": spec.get("engine", "vectorized"),
            "status": "complete" if len(done) == len(m["chunks"]) else "partial",
        })
    frame = pd.DataFrame(rows, columns=cols)
    frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True)
    frame[["sets", "done_sets"]] = frame[["sets", "done_sets"]].astype("int64")
    return frame.sort_values(["created_at", "id"], ascending=False).reset_index(drop=True)


def load_sweep(sweep_id: str, root: str | Path | None = None) -> SweepResult:
    """A stored sweep; the rows of its finished chunks are read when ``results`` is
    first used.

    Raises
    ------
    DataError
        If no sweep ``sweep_id`` is stored under ``root``.
    """
    path = sweep_dir(sweeps_root(root), sweep_id)
    manifest = read_manifest(path)
    if manifest is None:
        known = ", ".join(list_sweeps(root)["id"].tolist()[:20]) or "none"
        raise DataError(f"no sweep {sweep_id!r} under {sweeps_root(root)}; stored: {known}")
    spec = SweepSpec.from_dict(manifest["spec"])
    return SweepResult(id=sweep_id, path=path, spec=spec, manifest=manifest)


def list_sweeps(root: str | Path | None = None) -> pd.DataFrame:
    """Stored sweeps, newest first.

    Returns
    -------
    DataFrame
        ``id``, ``created_at`` (UTC Timestamp), ``strategies`` and ``symbols`` (comma
        separated; symbols as ``SYMBOL@timeframe``), ``sets`` (total rows),
        ``done_sets``, ``engine``, ``status`` ("complete" or "partial").
    """
    return list_manifests(sweeps_root(root))
