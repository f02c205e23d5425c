"""The step timeline written as it happens: Chrome/Perfetto trace-event JSON, streamed to a file.

Holding every step's span until the run ends costs memory in proportion to the run (hundreds of
MB for a million requests); writing each span when its step starts keeps memory flat however
long the run. The file is one JSON document (`{"traceEvents": [...]}`), valid once `close()`d.
A write that fails (a full disk) is reported naming the file, not as a traceback.
"""

from __future__ import annotations

import json
from pathlib import Path

from jalapeno.errors import JalapenoError


class TimelineWriter:
    def __init__(self, path: Path | str, flag: str = "--trace-out"):
        self.path, self.flag = Path(path), flag
        self.events = 0
        try:
            self._f = open(self.path, "w", buffering=1 << 16)  # noqa: SIM115 - closed in close()
            self._f.write('{"displayTimeUnit": "ms", "traceEvents": [\n')
        except OSError as exc:
            raise JalapenoError(f"{flag} {self.path}: cannot write: {exc.strerror or exc}") from None

    def span(self, replica: int, start_s: float, dur_s: float, decodes: int, prefill_tokens: int) -> None:
        ev = {"name": f"step d={decodes} p={prefill_tokens}", "ph": "X", "ts": start_s * 1e6, "dur": dur_s * 1e6,
              "pid": 0, "tid": replica, "args": {"decodes": decodes, "prefill_tokens": prefill_tokens}}
        try:
            self._f.write(("," if self.events else "") + json.dumps(ev) + "\n")
        except OSError as exc:
            self._fail(exc)
        self.events += 1

    def close(self) -> None:
        if self._f.closed:
            return
        try:
            self._f.write("]}\n")
            self._f.close()
        except OSError as exc:
            self._fail(exc)

    def _fail(self, exc: OSError):
        try:
            self._f.close()
        except OSError:
            pass
        raise JalapenoError(f"{self.flag} {self.path}: write failed: {exc.strerror or exc}") from None
