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
    """Where the fleet sits: each site's share of the traffic and its round trip to its users."""

    kind: str  # regional | edge
    sites: tuple[tuple[float, float], ...]  # (share of traffic, round trip s) per site

    @property
    def count(self) -> int:
        return len(self.sites)

    @property
    def label(self) -> str:
        return "regional" if self.kind == "regional" else f"{self.count} edge sites"


def _floats(flag: str, text: str | None) -> list[float] | None:
    if text is None:
        return None
    try:
        vals = [float(x) for x in str(text).split(",") if x.strip()]
    except ValueError:
        raise JalapenoError(f"{flag}: expected numbers separated by commas, got '{text}'") from None
    if not vals or any(not (v >= 0) for v in vals):
        raise JalapenoError(f"{flag}: every value must be 0 or more, got '{text}'")
    return vals


def parse_sites(text: str, rtt_ms: str | float | None = None, shares: str | None = None) -> Sites:
    """`regional` (one site) or `edge:N` (N sites). `rtt_ms`: one round trip for every site or one
    per site; `shares`: each site's share of the traffic (default equal), summing to 1."""
    d = fleet_defaults()["sites"]
    t = text.strip().lower()
    if t == "regional":
        n, kind, default = 1, "regional", d["regional_rtt_ms"]
    elif t.startswith("edge"):
        try:
            n = int(t.split(":", 1)[1]) if ":" in t else 8
        except ValueError:
            n = 0
        if n < 1:
            raise JalapenoError(f"--sites: expected edge:N with N >= 1 sites, got '{text}'")
        kind, default = "edge", d["edge_rtt_ms"]
    else:
        raise JalapenoError(f"--sites: expected regional or edge:N, got '{text}'")
    rtts = _floats("--rtt-ms", None if rtt_ms is None else str(rtt_ms)) or [default]
    if len(rtts) not in (1, n):
        raise JalapenoError(f"--rtt-ms: give one round trip or one per site ({n}), got {len(rtts)}")
    share = _floats("--site-shares", shares) or [1.0 / n] * n
    if len(share) != n or abs(sum(share) - 1.0) > 0.01 or min(share) <= 0:
        raise JalapenoError(f"--site-shares: give {n} shares above 0 that sum to 1, got '{shares}'")
    rtts = rtts * n if len(rtts) == 1 else rtts
    return Sites(kind, tuple((s, r / 1e3) for s, r in zip(share, rtts, strict=True)))
