"""Traffic of a fleet plan: a daily request volume shaped by a daily curve, or a peak rate, with
request lengths from a trace profile (workloads/data/trace_profiles.yaml), and how it splits
over sites."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import lru_cache
from importlib import resources

from jalapeno.errors import JalapenoError
from jalapeno.sourced import read_sourced_yaml
from jalapeno.workloads.profiles import get_profile


@lru_cache(maxsize=1)
def fleet_defaults() -> dict:
    from pathlib import Path
    return read_sourced_yaml(Path(str(resources.files("jalapeno.fleet") / "data" / "fleet.yaml")), "fleet")[0]


@dataclass(frozen=True)
class Traffic:
    profile: str
    mean_input_tokens: float
    mean_output_tokens: float
    daily_requests: float
    peak_rate_per_s: float

    @property
    def mean_rate_per_s(self) -> float:
        return self.daily_requests / 86400.0

    def to_dict(self) -> dict:
        return {**asdict(self), "mean_rate_per_s": self.mean_rate_per_s}


def make_traffic(profile: str = "azure-code", daily_requests: float | None = None,
                 peak_rate_per_s: float | None = None) -> Traffic:
    """Give a daily volume (the daily curve sets the peak) or a peak rate (the curve sets the
    volume); the profile gives mean prompt and output lengths."""
    curve = fleet_defaults()["daily_curve"]["hours"]
    peak_factor = max(curve) / (sum(curve) / len(curve))
    if daily_requests is None and peak_rate_per_s is None:
        raise JalapenoError("give --daily-requests or --peak-rate")
    if daily_requests is not None and not daily_requests > 0:
        raise JalapenoError(f"--daily-requests must be above 0 (got {daily_requests})")
    if peak_rate_per_s is not None and not peak_rate_per_s > 0:
        raise JalapenoError(f"--peak-rate must be above 0 (got {peak_rate_per_s})")
    if peak_rate_per_s is None:
        assert daily_requests is not None
        peak_rate_per_s = daily_requests / 86400.0 * peak_factor
    if daily_requests is None:
        daily_requests = peak_rate_per_s / peak_factor * 86400.0
    p = get_profile(profile)
    return Traffic(profile, p.input_mean_tokens, p.output_mean_tokens, float(daily_requests),
                   float(peak_rate_per_s))


@dataclass(frozen=True)
class Sites:
    kind: str  # regional | edge
    count: int
    rtt_s: float

    @property
    def label(self) -> str:
        return "regional" if self.kind == "regional" else f"{self.count} edge sites"


def parse_sites(text: str, rtt_ms: float | None = None) -> Sites:
    """`regional` or `edge:N` (N sites sharing the traffic evenly)."""
    d = fleet_defaults()["sites"]
    t = text.strip().lower()
    if rtt_ms is not None and not rtt_ms >= 0:
        raise JalapenoError(f"--rtt-ms must be 0 or more (got {rtt_ms})")
    if t == "regional":
        return Sites("regional", 1, (d["regional_rtt_ms"] if rtt_ms is None else rtt_ms) / 1e3)
    if t.startswith("edge"):
        try:
            n = int(t.split(":", 1)[1]) if ":" in t else 8
        except ValueError:
            n = 0
        if n < 1:
            raise JalapenoError(f"--sites: expected edge:N with N >= 1 sites, got '{text}'")
        return Sites("edge", n, (d["edge_rtt_ms"] if rtt_ms is None else rtt_ms) / 1e3)
    raise JalapenoError(f"--sites: expected regional or edge:N, got '{text}'")
