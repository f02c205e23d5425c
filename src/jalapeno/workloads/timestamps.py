"""Fast, strict parsing of trace timestamps into seconds.

The Azure traces stamp each request with a wall-clock string such as '2023-11-16 18:15:46.6805900'
(seven fractional digits, more than `datetime` keeps). Loaders need seconds relative to the first
row, at full precision and quickly for million-row files, so the common layout is parsed by
slicing (the date part is cached: a trace spans few days) and anything else falls back to
`datetime.fromisoformat`. A plain number is taken as seconds.
"""

from __future__ import annotations

from datetime import date, datetime

_SECONDS_PER_DAY = 86400


class TimestampParser:
    """Turns successive timestamp strings into seconds since the first one parsed."""

    def __init__(self) -> None:
        self._days: dict[str, int] = {}
        self._origin: tuple[int, float] | None = None
        self._numeric: bool | None = None

    def seconds(self, text: str) -> float:
        """Seconds since the first timestamp given to this parser; raises ValueError with a reason."""
        day, sod = self._parse(text.strip())
        if self._origin is None:
            self._origin = (day, sod)
        # Rounded to 1 ns: the difference of two seconds-of-day floats carries ~1e-11 s of noise.
        return round((day - self._origin[0]) * _SECONDS_PER_DAY + (sod - self._origin[1]), 9)

    def _parse(self, text: str) -> tuple[int, float]:
        numeric = not (len(text) >= 10 and text[4] == "-" and text[7] == "-")
        if self._numeric is None:
            self._numeric = numeric
        elif numeric != self._numeric:
            kind = "a number" if self._numeric else "a date-time"
            raise ValueError(f"{text!r} does not match the earlier rows, which hold {kind}")
        if numeric:
            value = float(text)  # ValueError names the text
            if value != value or value in (float("inf"), float("-inf")):
                raise ValueError(f"{text!r} is not a finite number of seconds")
            return 0, value
        if len(text) >= 19 and text[10] in " T" and text[13] == ":" and text[16] == ":":
            try:
                return self._fast(text)
            except ValueError:
                pass
        return self._slow(text)

    def _fast(self, text: str) -> tuple[int, float]:
        rest = text[17:]
        offset_s = 0.0
        if rest.endswith("Z"):
            rest = rest[:-1]
        elif len(rest) > 2 and rest[-6:-5] in ("+", "-") and rest[-3] == ":":
            sign = 1 if rest[-6] == "+" else -1
            offset_s = sign * (int(rest[-5:-3]) * 3600 + int(rest[-2:]) * 60)
            rest = rest[:-6]
        hours, minutes, secs = int(text[11:13]), int(text[14:16]), float(rest)
        if not (0 <= hours < 24 and 0 <= minutes < 60 and 0 <= secs < 61) or not rest[:2].isdigit():
            raise ValueError(text)
        day_key = text[:10]
        day = self._days.get(day_key)
        if day is None:
            day = date.fromisoformat(day_key).toordinal()
            self._days[day_key] = day
        return day, hours * 3600 + minutes * 60 + secs - offset_s

    @staticmethod
    def _slow(text: str) -> tuple[int, float]:
        try:
            dt = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"{text!r} is not a date-time like '2023-11-16 18:15:46.6805900'") from None
        offset = dt.utcoffset()
        sod = dt.hour * 3600 + dt.minute * 60 + dt.second + dt.microsecond / 1e6
        if offset is not None:
            sod -= offset.total_seconds()
        return dt.toordinal(), sod
