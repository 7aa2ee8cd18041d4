"""Edge-list files read in bulk: polars splits the rows, the labels are numbered as columns.

`network.load_graph` reads an edge list line by line with Python's csv module,
which takes about 10 s and 0.9 GB for a file of three million edges (a
Barabasi-Albert graph of a million nodes). Most edge lists a user brings are
plain: one delimiter, no quoting, nothing odd about their whitespace. For
those, `read_plain` gives the same labels and edges in a fraction of the time
(2 s for that file); for any other file it returns None, and the line-by-line
reader reads it, with its error messages that name the line of a problem.

Same result means: the rules of `environments.network`'s module docstring
(delimiter from the first data line; blank lines and lines starting with
``#`` skipped; a ``source, target`` or ``from, to`` header skipped; fields
stripped of whitespace; further columns ignored; labels numbered in numeric
order when all are integers, else in text order). A row that breaks them (a
missing or empty label) is left to the line-by-line reader too, which
reports it. `tests/environments/test_edge_list.py` checks the two readers
against each other on generated files.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import polars as pl

BOM = b"\xef\xbb\xbf"
HEADERS = {("source", "target"), ("from", "to")}
INT_LABEL = re.compile(r"^[+-]?\d+$")

# Bytes whose meaning the two readers could differ on, in any file: quotes (the csv
# module's quoting rules), and the separators \x1c-\x1f, whitespace to Python's strip
# and not to polars'.
_UNPLAIN = (b'"', b"\x1c", b"\x1d", b"\x1e", b"\x1f")
# ... and, where fields are separated by whitespace, whatever else `str.split()`
# splits on: tabs, runs of spaces, other whitespace, Unicode's included.
_UNPLAIN_SPACED = (
    b"\t", b"  ", b"\n ", b"\x0b", b"\x0c", b"\xc2\x85", b"\xc2\xa0", b"\xe1\x9a\x80",
    b"\xe2\x81\x9f", b"\xe3\x80\x80",
    *(b"\xe2\x80" + bytes([c]) for c in (*range(0x80, 0x8B), 0xA8, 0xA9, 0xAF)),
)  # fmt: skip


def read_plain(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(labels, u, v) of a plain edge-list file, or None if it is not plain.

    labels: the node labels (str) in node order; u, v: each edge row's ends
    as node ids (self-loops and repeats kept: the caller makes them
    canonical). None also when the file is not UTF-8 or has a row that is
    not two labels: the line-by-line reader then says what is wrong.
    """
    data = path.read_bytes()
    data = data.removeprefix(BOM)
    try:
        delimiter = _delimiter(data)
    except UnicodeDecodeError:
        return None
    if any(b in data for b in _UNPLAIN):
        return None
    if data.count(b"\r") != data.count(b"\r\n"):  # a carriage return that ends no line
        return None
    if delimiter is None and (data.startswith(b" ") or any(b in data for b in _UNPLAIN_SPACED)):
        return None
    try:
        rows = pl.read_csv(
            io.BytesIO(data),
            has_header=False,
            separator=delimiter or " ",
            quote_char=None,
            schema={"source": pl.String, "target": pl.String},
            missing_columns="insert",
            extra_columns="ignore",
            truncate_ragged_lines=True,
            raise_if_empty=False,
        )
    except Exception:  # noqa: BLE001 - not UTF-8, or anything polars cannot read plainly
        return None
    # One row per line (blank lines too), which the checks below rely on.
    lines = data.count(b"\n") + (not data.endswith(b"\n"))
    if rows.height != lines:
        return None
    rows = rows.with_row_index("line").with_columns(
        pl.col("source", "target").str.strip_chars().fill_null("")
    )
    rows = _without_skipped(rows, data, delimiter)
    if rows is None or rows.height == 0:
        return None
    if (rows["source"] == "").any() or (rows["target"] == "").any():
        return None  # a missing label: the line-by-line reader names the line
    return _numbered(rows["source"], rows["target"])


def _delimiter(data: bytes) -> str | None:
    """The delimiter by the first data line: ',' if it has one, else tab if it has one, else None (whitespace).

    Raises UnicodeDecodeError if a line up to the first data line is not UTF-8.
    """
    start = 0
    while start < len(data):
        end = data.find(b"\n", start)
        end = len(data) if end < 0 else end
        text = data[start:end].decode("utf-8").strip()
        if text and not text.startswith("#"):
            return delimiter_of(text)
        start = end + 1
    return None


def delimiter_of(first: str) -> str | None:
    """The delimiter of an edge list whose first data line is `first`: ',' or tab, else None (whitespace)."""
    return "," if "," in first else "\t" if "\t" in first else None


def _without_skipped(rows: pl.DataFrame, data: bytes, delimiter: str | None) -> pl.DataFrame | None:
    """The rows that are edges: blank and comment lines and a header left out; None if unsure."""
    blank = (pl.col("source") == "") & (pl.col("target") == "")
    rows = rows.filter(~pl.col("source").str.starts_with("#"))
    # A row whose two labels are empty is a blank line, unless a later column holds
    # something (",,x" is an error to the line-by-line reader): look at those lines.
    empty = rows.filter(blank)["line"].to_numpy()
    if delimiter is not None and len(empty):
        ends = np.flatnonzero(np.frombuffer(data, np.uint8) == ord("\n"))
        ends = np.append(ends, len(data))
        for line in empty:
            start = ends[line - 1] + 1 if line else 0
            if data[start : ends[line]].decode("utf-8").replace(delimiter, "").strip():
                return None
    rows = rows.filter(~blank)
    if rows.height and (rows["source"][0].lower(), rows["target"][0].lower()) in HEADERS:
        rows = rows.slice(1)
    return rows


def _numbered(source: pl.Series, target: pl.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Number the labels as `network` does: numerically if all are integers, else as text."""
    names = pl.concat([source, target]).unique()
    if not names.str.contains(INT_LABEL.pattern).all():
        labels = names.sort()  # polars orders text by code point, as Python does
    elif (number := names.cast(pl.Int64, strict=False)).null_count() == 0:
        labels = pl.DataFrame({"label": names, "number": number}).sort("number", "label")["label"]
    else:  # integers polars cannot hold (beyond 64 bits, or in digits of other scripts)
        labels = pl.Series(sorted(names.to_list(), key=lambda x: (int(x), x)), dtype=pl.String)
    ids = labels.to_frame("label").with_row_index("id")

    def ids_of(ends: pl.Series) -> np.ndarray:
        found = ends.to_frame("label").join(ids, on="label", how="left", maintain_order="left")
        return found["id"].to_numpy().astype(np.int64)

    return np.array(labels.to_list(), dtype=object), ids_of(source), ids_of(target)
