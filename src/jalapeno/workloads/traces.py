"""Streaming readers for the published request traces (Azure LLM inference 2023, Mooncake).

Each reader is a generator: it holds one row at a time, so a trace of any size streams in flat
memory. Every row becomes exactly one Request (ids are 0-based row numbers, arrival times are
seconds since the first row); a row that cannot be read stops the load with a JalapenoError
naming file, line, column and what is wrong, never a silent skip.

Zero token counts. A served request always has at least one prompt token and produces at least
one output token (the first token comes out of prefill), so a logged 0 means a request that was
cancelled or failed around prefill. By default (`zero_tokens="clamp"`) such a row is kept, with
the count raised to 1 so its prefill still costs time, and counted in `LoadReport` (and thus in
`TraceStats.clamped_output_requests`); `zero_tokens="error"` refuses the file instead. The four
shared traces hold no zero counts (checked), so this only matters for other traces.

Arrival times must not go backwards (a simulator consumes requests in arrival order and a stream
cannot be sorted in flat memory): a trace out of order is an error that says so.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import math
import os
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from jalapeno.errors import JalapenoError
from jalapeno.workloads.paths import resolve_trace
from jalapeno.workloads.request import Request
from jalapeno.workloads.timestamps import TimestampParser

ZeroPolicy = Literal["clamp", "error"]

AZURE_COLUMNS = ("TIMESTAMP", "ContextTokens", "GeneratedTokens")
MOONCAKE_KEYS = ("timestamp", "input_length", "output_length")


@dataclass
class LoadReport:
    """What a reader saw: rows read and rows whose zero token counts were raised to 1."""

    path: str
    rows: int = 0
    clamped_input_rows: int = 0
    clamped_output_rows: int = 0


class TraceRowError(JalapenoError):
    """A row of a trace file that cannot be read; the message starts with 'file:line:'."""

    def __init__(self, path: str | os.PathLike, line: int, problem: str):
        super().__init__(f"{os.fspath(path)}:{line}: {problem}")
        self.path = os.fspath(path)
        self.line = line


def _open_text(path: Path) -> io.TextIOBase:
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8-sig", newline="")
    return open(path, encoding="utf-8-sig", newline="")


def _whole_number(text: str, path: Path, line: int, column: str) -> int:
    try:
        f = float(text)
    except ValueError:
        raise TraceRowError(path, line, f"column '{column}': {text!r} is not a number") from None
    if not f.is_integer():
        raise TraceRowError(path, line, f"column '{column}': {text!r} is not a whole number of tokens")
    return int(f)


def _tokens(value: object, path: Path, line: int, column: str, policy: ZeroPolicy) -> tuple[int, bool]:
    """A token count from a CSV string or JSON number; returns (count >= 1, whether it was clamped)."""
    if isinstance(value, str):
        text = value.strip()
        try:
            n = int(text)
        except ValueError:
            n = _whole_number(text, path, line, column)
    elif isinstance(value, bool) or not isinstance(value, int | float):
        raise TraceRowError(path, line, f"column '{column}': {value!r} is not a number")
    elif isinstance(value, float) and not value.is_integer():
        raise TraceRowError(path, line, f"column '{column}': {value!r} is not a whole number of tokens")
    else:
        n = int(value)
    if n < 0:
        raise TraceRowError(path, line, f"column '{column}': {n} is negative; token counts are >= 0")
    if n == 0:
        if policy == "error":
            raise TraceRowError(path, line, f"column '{column}': 0 tokens (zero_tokens='error')")
        return 1, True
    return n, False


def _check_order(arrival_s: float, last_s: float, path: Path, line: int, column: str) -> None:
    if arrival_s < last_s:
        raise TraceRowError(
            path, line, f"column '{column}': arrival goes back in time ({arrival_s:.6f} s after the first row, "
            f"earlier than the previous row's {last_s:.6f} s); sort the trace by time"
        )


def read_azure_csv(
    path: str | os.PathLike, zero_tokens: ZeroPolicy = "clamp", report: LoadReport | None = None
) -> Iterator[Request]:
    """Stream an Azure LLM inference trace CSV (TIMESTAMP, ContextTokens, GeneratedTokens)."""
    path = Path(path)
    report = report if report is not None else LoadReport(str(path))
    with _open_text(path) as fh:
        reader = csv.reader(fh)
        try:
            header = [h.strip() for h in next(reader)]
        except StopIteration:
            raise TraceRowError(path, 1, "empty file; expected a header " + ",".join(AZURE_COLUMNS)) from None
        except csv.Error as exc:
            raise TraceRowError(path, 1, f"not valid CSV: {exc}") from None
        idx = {}
        for col in AZURE_COLUMNS:
            if col not in header:
                raise TraceRowError(path, 1, f"column '{col}' is missing from the header (found: {', '.join(header)})")
            idx[col] = header.index(col)
        i_t, i_in, i_out = (idx[c] for c in AZURE_COLUMNS)
        width = len(header)
        clock = TimestampParser()
        last_s = float("-inf")
        rid = 0
        try:
            for row in reader:
                line = reader.line_num
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue  # a blank line is not a row
                if len(row) != width:
                    missing = [c for c in AZURE_COLUMNS if idx[c] >= len(row)]
                    what = f"column '{missing[0]}' is missing" if missing else "row has extra fields"
                    raise TraceRowError(path, line, f"{what} (row has {len(row)} fields, the header {width})")
                try:
                    arrival_s = clock.seconds(row[i_t])
                except ValueError as exc:
                    raise TraceRowError(path, line, f"column 'TIMESTAMP': {exc}") from None
                _check_order(arrival_s, last_s, path, line, "TIMESTAMP")
                last_s = arrival_s
                n_in, c_in = _tokens(row[i_in], path, line, "ContextTokens", zero_tokens)
                n_out, c_out = _tokens(row[i_out], path, line, "GeneratedTokens", zero_tokens)
                report.rows += 1
                report.clamped_input_rows += c_in
                report.clamped_output_rows += c_out
                yield Request(rid, arrival_s, n_in, n_out)
                rid += 1
        except csv.Error as exc:
            raise TraceRowError(path, reader.line_num, f"not valid CSV: {exc}") from None


def read_mooncake_jsonl(
    path: str | os.PathLike, zero_tokens: ZeroPolicy = "clamp", report: LoadReport | None = None
) -> Iterator[Request]:
    """Stream a Mooncake trace (JSON lines: timestamp ms, input_length, output_length, hash_ids)."""
    path = Path(path)
    report = report if report is not None else LoadReport(str(path))
    origin_ms: float | None = None
    last_s = float("-inf")
    rid = 0
    with _open_text(path) as fh:
        for line, text in enumerate(fh, start=1):
            if not text.strip():
                continue  # a blank line is not a row
            try:
                rec = json.loads(text)
            except json.JSONDecodeError as exc:
                raise TraceRowError(path, line, f"invalid JSON: {exc.msg} at character {exc.pos + 1}") from None
            if not isinstance(rec, dict):
                raise TraceRowError(path, line, f"expected a JSON object, got {type(rec).__name__}")
            for key in MOONCAKE_KEYS:
                if key not in rec:
                    raise TraceRowError(path, line, f"column '{key}' is missing")
            ts = rec["timestamp"]
            if isinstance(ts, bool) or not isinstance(ts, int | float) or not math.isfinite(ts):
                raise TraceRowError(path, line, f"column 'timestamp': {ts!r} is not a number of milliseconds")
            if origin_ms is None:
                origin_ms = ts
            arrival_s = (ts - origin_ms) / 1000.0
            _check_order(arrival_s, last_s, path, line, "timestamp")
            last_s = arrival_s
            n_in, c_in = _tokens(rec["input_length"], path, line, "input_length", zero_tokens)
            n_out, c_out = _tokens(rec["output_length"], path, line, "output_length", zero_tokens)
            hashes = rec.get("hash_ids", [])
            if not isinstance(hashes, list) or not all(
                isinstance(h, int) and not isinstance(h, bool) and h >= 0 for h in hashes
            ):
                raise TraceRowError(path, line, "column 'hash_ids': expected a list of non-negative integers")
            report.rows += 1
            report.clamped_input_rows += c_in
            report.clamped_output_rows += c_out
            yield Request(rid, arrival_s, n_in, n_out, tuple(hashes))
            rid += 1


_READERS: dict[str, Callable[..., Iterator[Request]]] = {"azure": read_azure_csv, "mooncake": read_mooncake_jsonl}


def _unreadable_as_error(path: Path, rows: Iterator[Request]) -> Iterator[Request]:
    """The rows, with a file that cannot be read (a fake .gz, bytes that are not text, an I/O
    error) reported as one line naming it."""
    try:
        yield from rows
    except (OSError, EOFError, UnicodeDecodeError, zlib.error) as exc:
        raise JalapenoError(f"{path}: cannot be read as a trace: {exc}") from None


def detect_format(path: Path) -> str:
    """'azure' or 'mooncake', from the extension (.csv / .jsonl / .json, optionally .gz) or the first line."""
    suffixes = [s.lower() for s in path.suffixes if s.lower() != ".gz"]
    if suffixes and suffixes[-1] == ".csv":
        return "azure"
    if suffixes and suffixes[-1] in (".jsonl", ".json", ".ndjson"):
        return "mooncake"
    try:
        with _open_text(path) as fh:
            for text in fh:
                if text.strip():
                    if text.lstrip().startswith("{"):
                        return "mooncake"
                    if "TIMESTAMP" in text:
                        return "azure"
                    break
    except (OSError, EOFError, UnicodeDecodeError, zlib.error) as exc:
        raise JalapenoError(f"{path}: cannot be read as a trace: {exc}") from None
    raise JalapenoError(
        f"{path}: cannot tell the trace format; expected an Azure LLM trace CSV (header "
        "TIMESTAMP,ContextTokens,GeneratedTokens) or Mooncake JSON lines (timestamp, input_length, "
        "output_length, hash_ids)"
    )


class Trace:
    """A trace file read lazily. Iterate it (as often as you like) to stream its Requests.

    `report` describes the most recent pass (rows read, zero counts clamped); it is complete once
    a pass has run to the end.
    """

    def __init__(self, path: Path, fmt: str, zero_tokens: ZeroPolicy = "clamp"):
        if zero_tokens not in ("clamp", "error"):
            raise JalapenoError(f"zero_tokens must be 'clamp' or 'error', got {zero_tokens!r}")
        self.path = path
        self.format = fmt
        self.zero_tokens: ZeroPolicy = zero_tokens
        self.report = LoadReport(str(path))

    def __iter__(self) -> Iterator[Request]:
        self.report = LoadReport(str(self.path))
        return _unreadable_as_error(self.path, _READERS[self.format](self.path, self.zero_tokens, self.report))

    def __repr__(self) -> str:
        return f"Trace({str(self.path)!r}, format={self.format!r})"


def load_trace(path_or_name: str | os.PathLike, zero_tokens: ZeroPolicy = "clamp") -> Trace:
    """Open a trace by short name ('azure-code', 'azure-conv', 'mooncake-conversation',
    'mooncake-synthetic') or path; the format is picked by extension, else by content."""
    path = resolve_trace(path_or_name)
    return Trace(path, detect_format(path), zero_tokens)
