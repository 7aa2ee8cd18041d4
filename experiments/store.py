"""The results folder of a sweep: spec, manifest, and Parquet tables that survive interruption.

Layout of a results folder `DIR`::

    DIR/spec.toml                 the spec as run (size applied, every default filled in)
    DIR/manifest.json             package version, git commit, Python, platform, times, counts
    DIR/runs.parquet              one row per run (written when the sweep ends)
    DIR/steps.parquet             run x step
    DIR/strategies.parquet        run x step x strategy
    DIR/agents.parquet            run x negotiator at the end
    DIR/parts/<table>/<run_id>... one file per finished run and table: the durable record

Each finished run writes its rows to `parts/` (a temporary file renamed into
place), the `runs` row last: a run counts as done once its `runs` part exists.
The four tables at the top are rebuilt from the parts, in the sweep's
canonical order, whenever a sweep ends, and removed while one is running, so
they are never stale. Resuming skips done runs; re-running a run overwrites
its own files, so rows are never duplicated or lost. `read_table` reads a
table whether or not the sweep has finished.

What a crash can leave, and what happens to it:

- a `.tmp` file (a write cut short): never read; removed when a sweep resumes;
- a part that is not a whole Parquet file (a power cut on a file system
  that renamed before it wrote): `repair` removes it and the run's `runs`
  part, so the run runs again; readers skip it;
- a run whose `runs` part exists but a table part is missing: run again;
- a folder created but killed before its manifest: taken as a new folder;
- the lock: held through an open file, so the kernel releases it with the
  process, however it ends.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import shutil
import sys
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from environments.config import ConfigError

TABLES = ("runs", "steps", "strategies", "agents")
PARQUET_MAGIC = b"PAR1"  # a Parquet file starts and ends with these four bytes
# What a sweep puts in its folder before the manifest exists (a sweep killed then left only these).
_OWN_ENTRIES = {".lock", "parts", "spec.toml", "spec.toml.tmp", "manifest.json.tmp", ".running"}
STATUS_OK = "ok"
STATUS_FAILED = "failed"
_STATUSES = (STATUS_OK, STATUS_FAILED)
# `runs` rows a `ResultsFolder` keeps after recording them, so that assembling the table need
# not read their parts back (about a millisecond a part, mostly fixed cost); a few KB each.
KEEP_ROWS = 10_000


@dataclass
class RunResult:
    """What one run produced: its status, wall time, headline outcomes and tables (none if failed)."""

    run_id: str
    status: str
    wall_time: float
    outcomes: dict[str, Any] = field(default_factory=dict)
    tables: dict[str, pl.DataFrame] = field(default_factory=dict)
    error: str | None = None
    traceback: str | None = None


def now() -> str:
    """The current time, UTC, ISO 8601 to the second."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def _write_atomic(path: Path, write: Any, durable: bool = False) -> None:
    """Write through a `.tmp` sibling, then rename it into place: readers never see half a file.

    `durable`: flush the file to disk before the rename, so that even a power
    cut cannot leave it empty. Used for the few metadata files; the many
    parts are checked on resume instead (`ResultsFolder.repair`), which costs
    far less than a flush per file.
    """
    tmp = path.with_name(path.name + ".tmp")
    write(tmp)
    if durable:
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    os.replace(tmp, path)


def write_json(path: Path, data: Any) -> None:
    """Write JSON atomically and durably."""
    _write_atomic(
        path, lambda p: p.write_text(json.dumps(data, indent=2, default=str) + "\n"), durable=True
    )


def is_whole_parquet(path: Path) -> bool:
    """Whether `path` looks like a complete Parquet file: its magic bytes at both ends.

    Cheap (8 bytes read), and enough to catch a file cut short or never
    filled, which is what an interrupted write leaves.
    """
    try:
        with path.open("rb") as fh:
            if fh.read(4) != PARQUET_MAGIC:
                return False
            fh.seek(-4, os.SEEK_END)
            return fh.read(4) == PARQUET_MAGIC
    except OSError:
        return False


def write_parquet(path: Path, frame: pl.DataFrame) -> None:
    """Write a Parquet file atomically."""
    _write_atomic(path, lambda p: frame.write_parquet(p))


def package_version() -> str:
    """The installed concession-lab version, or the one in pyproject.toml of a source checkout."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("concession-lab")
    except PackageNotFoundError:
        pyproject = Path(__file__).resolve().parents[1] / "pyproject.toml"
        try:
            with pyproject.open("rb") as fh:
                return str(tomllib.load(fh)["project"]["version"])
        except (OSError, KeyError, tomllib.TOMLDecodeError):
            return "unknown"


def git_commit() -> str | None:
    """The commit of the source checkout the code runs from, read from `.git` (None if not one)."""
    git = Path(__file__).resolve().parents[1] / ".git"
    try:
        if git.is_file():  # a worktree: "gitdir: <path>"
            git = Path(git.read_text().split(":", 1)[1].strip())
        head = (git / "HEAD").read_text().strip()
        if not head.startswith("ref:"):
            return head
        ref = head.split(":", 1)[1].strip()
        loose = git / ref
        if loose.is_file():
            return loose.read_text().strip()
        packed = git / "packed-refs"
        if packed.is_file():
            for line in packed.read_text().splitlines():
                if line.endswith(" " + ref):
                    return line.split()[0]
    except OSError:
        return None
    return None


class ResultsFolder:
    """A sweep's results folder: checks it belongs to the spec, records runs, assembles tables."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.parts = self.path / "parts"
        self._lock: Any = None
        # The `runs` rows this object recorded (up to KEEP_ROWS), by the path of their part.
        self._kept: dict[Path, dict[str, Any]] = {}

    # ------------------------------------------------------------------ opening

    @property
    def manifest_path(self) -> Path:
        """`DIR/manifest.json`."""
        return self.path / "manifest.json"

    def manifest(self) -> dict[str, Any]:
        """The manifest as written, or {} when there is none yet."""
        try:
            return json.loads(self.manifest_path.read_text())
        except (OSError, ValueError):
            return {}

    def check(self, identity: str) -> None:
        """Refuse a folder that holds another spec's results, or files that are not results."""
        if not self.path.exists():
            return
        if not self.path.is_dir():
            raise ConfigError(f"--out {self.path}: exists and is not a folder")
        if not self.manifest_path.is_file():
            if not self._only_own_entries():
                raise ConfigError(
                    f"--out {self.path}: a non-empty folder that holds no sweep results; "
                    "choose a new or empty folder"
                )
            return
        held = self.manifest().get("spec_hash")
        if held != identity:
            raise ConfigError(
                f"--out {self.path} holds results of a different spec ({self.manifest().get('name')!r}, "
                f"spec hash {held}, this spec {identity}); use another --out folder or delete that one"
            )

    def _only_own_entries(self) -> bool:
        """Whether the folder holds nothing but what a sweep writes before its manifest, no result.

        A sweep killed between creating the folder and writing its manifest
        leaves these; such a folder is taken as new rather than refused.
        """
        for entry in self.path.iterdir():
            if entry.name not in _OWN_ENTRIES:
                return False
        if self.parts.is_dir():
            for table in self.parts.iterdir():
                if not table.is_dir() or any(p.name.endswith(".parquet") for p in table.iterdir()):
                    return False
        return True

    def create(self, spec_toml: str, manifest: Mapping[str, Any]) -> None:
        """Make the folder (if new), take its lock, write `spec.toml` and the manifest."""
        self.path.mkdir(parents=True, exist_ok=True)
        self.lock()
        for table in TABLES:
            (self.parts / table).mkdir(parents=True, exist_ok=True)
        # Without a manifest the folder is new (or a sweep died before writing one): its spec.toml,
        # if any, may be another spec's, so this spec's is written.
        if not self.manifest_path.is_file() or not (self.path / "spec.toml").is_file():
            _write_atomic(self.path / "spec.toml", lambda p: p.write_text(spec_toml), durable=True)
        old = self.manifest()
        write_json(
            self.manifest_path,
            {**old, **manifest, "created": old.get("created", manifest.get("started"))},
        )

    def lock(self) -> None:
        """Hold an exclusive lock on the folder while a sweep writes to it (released on exit or kill)."""
        try:
            import fcntl
        except ImportError:  # pragma: no cover
            return  # Windows: no advisory locks; run one sweep at a time
        fh = (self.path / ".lock").open("a")
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.close()
            raise ConfigError(
                f"--out {self.path}: another sweep is writing to this folder"
            ) from None
        self._lock = fh

    def unlock(self) -> None:
        """Release the folder's lock."""
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def update_manifest(self, **fields: Any) -> None:
        """Merge `fields` into the manifest."""
        write_json(self.manifest_path, {**self.manifest(), **fields})

    # ------------------------------------------------------------------ runs

    def _part(self, table: str, run_id: str, status: str | None = None) -> Path:
        if table == "runs":
            return self.parts / "runs" / f"{run_id}.{status}.parquet"
        return self.parts / table / f"{run_id}.parquet"

    def done(self) -> dict[str, str]:
        """Recorded runs: run id -> "ok" or "failed" (read from file names, nothing is opened)."""
        out: dict[str, str] = {}
        folder = self.parts / "runs"
        if not folder.is_dir():
            return out
        for entry in os.scandir(folder):
            name = entry.name
            if not name.endswith(".parquet"):
                continue  # a `.tmp` is a write that did not finish: never a result
            run_id, _, status = name.removesuffix(".parquet").partition(".")
            if status not in _STATUSES:
                continue
            # A retried run that then succeeded may leave its old failure behind if killed in
            # between: a success is always the later record.
            if out.get(run_id) != STATUS_OK:
                out[run_id] = status
        return out

    def record(self, row: Mapping[str, Any], result: RunResult) -> None:
        """Write one run: its tables' parts first, then its `runs` row, which marks it done."""
        run_id = result.run_id
        if result.status == STATUS_OK:
            for table in TABLES[1:]:
                frame = result.tables.get(table)
                if frame is None:
                    frame = pl.DataFrame()
                frame = frame.select(pl.lit(run_id).alias("run_id"), pl.all().exclude("run_id"))
                write_parquet(self._part(table, run_id), frame)
        else:
            for table in TABLES[1:]:
                self._part(table, run_id).unlink(missing_ok=True)
        path = self._part("runs", run_id, result.status)
        write_parquet(path, _runs_frame(row))
        other = STATUS_FAILED if result.status == STATUS_OK else STATUS_OK
        stale = self._part("runs", run_id, other)
        stale.unlink(missing_ok=True)
        self._kept.pop(stale, None)
        self._kept.pop(path, None)
        if len(self._kept) < KEEP_ROWS:
            self._kept[path] = dict(row)

    def repair(self) -> int:
        """Clear what an interrupted sweep left half done; returns how many runs must run again.

        Removes `.tmp` files and the workers' start markers; a part that is
        not a whole Parquet file is removed, and so is the `runs` part of its
        run (and of an ok run that misses one of its table parts), so that
        the run runs again. Call it holding the lock.
        """
        before = self.done()
        shutil.rmtree(self.path / ".running", ignore_errors=True)
        for tmp in self.path.glob("*.tmp"):
            tmp.unlink(missing_ok=True)
        redo: set[str] = set()
        present: dict[str, set[str]] = {}
        for table in TABLES:
            folder = self.parts / table
            if not folder.is_dir():
                continue
            for entry in os.scandir(folder):
                path = Path(entry.path)
                if not entry.name.endswith(".parquet"):
                    if entry.name.endswith(".tmp"):
                        path.unlink(missing_ok=True)
                    continue
                run_id = entry.name.split(".", 1)[0]
                if is_whole_parquet(path):
                    present.setdefault(run_id, set()).add(table)
                else:
                    path.unlink(missing_ok=True)
                    redo.add(run_id)
        for run_id, status in self.done().items():
            if status == STATUS_OK and not set(TABLES) <= present.get(run_id, set()):
                redo.add(run_id)
        done = self.done()
        for run_id in redo:
            if run_id in done:
                self._part("runs", run_id, done[run_id]).unlink(missing_ok=True)
        return len(set(before) - set(self.done()))

    def drop_tables(self) -> None:
        """Remove the assembled tables: the parts change, so they would be stale."""
        for table in TABLES:
            (self.path / f"{table}.parquet").unlink(missing_ok=True)

    def assemble(self, order: Iterable[str]) -> dict[str, int]:
        """Rebuild the four tables from the parts, runs in `order`; returns rows per table."""
        order = list(order)
        done = self.done()
        ids = [r for r in order if r in done]
        ok = [r for r in ids if done[r] == STATUS_OK]
        return {t: self._assemble_table(t, ids if t == "runs" else ok, done) for t in TABLES}

    def _assemble_table(self, table: str, ids: list[str], done: Mapping[str, str]) -> int:
        """Write `table.parquet` from the parts of the runs `ids`, in that order; returns its rows.

        When the parts share their columns (as a sweep's `steps`, `strategies`
        and `agents` parts do), they are streamed into the file a few at a
        time: the command's memory stays that of a few parts however large the
        sweep. Otherwise (`runs`, whose columns differ between failed and
        finished runs, or a damaged part) the table is put together in memory.
        """
        path = self.path / f"{table}.parquet"
        paths = self._parts(table, ids, done)
        if table != "runs" and paths:
            try:
                scan = pl.scan_parquet(paths, glob=False, hive_partitioning=False)
                _write_atomic(path, scan.sink_parquet)
                return pl.scan_parquet(path).select(pl.len()).collect().item()
            except Exception:  # noqa: BLE001 - columns differ, or a part is damaged inside
                path.with_name(path.name + ".tmp").unlink(missing_ok=True)
        frame = self._collect(table, ids, done)
        write_parquet(path, frame)
        return frame.height

    def _parts(self, table: str, ids: list[str], done: Mapping[str, str]) -> list[Path]:
        """The whole parts of `table` of the runs `ids`, in that order (missing or cut short: left out)."""
        paths = [self._part(table, run_id, done.get(run_id)) for run_id in ids]
        return [p for p in paths if is_whole_parquet(p)]  # also False when missing

    def _collect(self, table: str, ids: list[str], done: Mapping[str, str]) -> pl.DataFrame:
        """The rows of `table` of the runs `ids`, in that order, from their parts.

        The `runs` rows this object recorded come from memory instead. A part
        that is missing, cut short or damaged is left out (its run runs again).
        """
        paths = self._parts(table, ids, done)
        if not paths:
            return pl.DataFrame({"run_id": pl.Series([], dtype=pl.String)})
        frame = None
        if not any(p in self._kept for p in paths):
            # All parts in one call: a call per part costs about a millisecond, mostly fixed
            # cost. It succeeds only if every part has the first one's columns, each of the same
            # type or null, and then gives what the part-by-part union below gives.
            with contextlib.suppress(Exception):  # columns differ, or a part is damaged inside
                frame = pl.read_parquet(paths, glob=False, hive_partitioning=False)
        if frame is None:
            frame = self._union(paths)
        if table == "runs":  # the long text columns last, whatever run came first
            tail = [c for c in ("config", "traceback") if c in frame.columns]
            frame = frame.select(pl.all().exclude(tail), *tail)
        return frame

    def _union(self, paths: list[Path]) -> pl.DataFrame:
        """The parts one by one, stacked, columns united and types widened.

        Runs differ in columns (a failed run has no outcomes; outcome names
        follow the mix). A `runs` row recorded here is taken from memory; a
        part damaged inside is left out.
        """

        def frame(path: Path) -> pl.DataFrame | None:
            row = self._kept.get(path)
            return _runs_frame(row) if row is not None else _read_part(path)

        # Many small files: read them on a few threads (polars reads without the GIL).
        with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
            frames = [f for f in pool.map(frame, paths) if f is not None]
        if not frames:
            return pl.DataFrame({"run_id": pl.Series([], dtype=pl.String)})
        return pl.concat(frames, how="diagonal_relaxed")

    def read(self, table: str) -> pl.DataFrame:
        """One table: the assembled file when the sweep has ended, else gathered from the parts."""
        if table not in TABLES:
            raise ValueError(f"unknown table {table!r}; tables: {', '.join(TABLES)}")
        path = self.path / f"{table}.parquet"
        if path.is_file() and self.manifest().get("status") == "complete":
            return pl.read_parquet(path)
        done = self.done()
        runs = self._collect("runs", sorted(done), done)
        if runs.height:
            runs = runs.sort(
                "point",
                "replicate",
                pl.col("pair").replace_strict(self._pair_rank(), default=1 << 30),
            )
        if table == "runs":
            return runs
        ok = [r for r, s in zip(runs["run_id"], runs["status"], strict=True) if s == STATUS_OK]
        return self._collect(table, ok, done)

    def _pair_rank(self) -> dict[str, int]:
        """The position of each pair in the spec as run (base first): the canonical run order."""
        try:
            with (self.path / "spec.toml").open("rb") as fh:
                pairs = [p.get("name") for p in tomllib.load(fh).get("pairs", [])]
        except (OSError, tomllib.TOMLDecodeError):
            pairs = []
        return {name: i for i, name in enumerate(["base", *pairs])}

    def iter_failed(self) -> Iterator[dict[str, Any]]:
        """The `runs` rows of failed runs."""
        for run_id, status in sorted(self.done().items()):
            if status == STATUS_FAILED:
                yield pl.read_parquet(self._part("runs", run_id, status)).row(0, named=True)


def _runs_frame(row: Mapping[str, Any]) -> pl.DataFrame:
    """A run's `runs` part: its row, the error and traceback as text even when empty."""
    text = {k: pl.String for k in ("error", "traceback") if k in row}
    return pl.DataFrame([dict(row)], schema_overrides=text)


def _read_part(path: Path) -> pl.DataFrame | None:
    """A part's rows, or None when it is missing, cut short or damaged (its run runs again)."""
    # A part cut short is left out (a resumed sweep runs its run again), never read.
    if not (path.is_file() and is_whole_parquet(path)):
        return None
    try:
        return pl.read_parquet(path)
    except Exception:  # noqa: BLE001 - damaged inside: as good as missing
        return None


def read_table(out: str | Path, table: str) -> pl.DataFrame:
    """A table (`runs`, `steps`, `strategies`, `agents`) of a results folder, finished or not."""
    return ResultsFolder(out).read(table)


def base_manifest() -> dict[str, Any]:
    """The manifest fields that describe the software and machine."""
    return {
        "package": "concession-lab",
        "version": package_version(),
        "git_commit": git_commit(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
    }
