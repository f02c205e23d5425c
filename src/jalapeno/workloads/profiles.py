"""The built-in trace profiles: summary statistics of the shared traces, shipped with the package.

data/trace_profiles.yaml holds figures computed from the published traces (each profile carries
its `source:`); this module reads them into typed records so generators can be fitted to a trace
on a machine that does not have the trace files.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

from jalapeno.errors import JalapenoError, SpecError
from jalapeno.safeload import parse_yaml
from jalapeno.sourced import split_sources
from jalapeno.workloads.distributions import Empirical
from jalapeno.workloads.prefixes import PrefixProfile, ReuseBin

_FILE = resources.files("jalapeno.workloads") / "data" / "trace_profiles.yaml"


@dataclass(frozen=True)
class TraceProfile:
    """One trace summarized: size, arrival rate and burstiness, length quantiles, prefix reuse."""

    name: str
    source: str
    description: str
    file: str
    requests: int
    duration_s: float
    mean_rate_per_s: float
    interarrival_cv: float
    input_mean_tokens: float
    input_quantiles: dict[str, float]
    output_mean_tokens: float
    output_quantiles: dict[str, float]
    prefix: PrefixProfile | None = None

    def input_distribution(self) -> Empirical:
        return Empirical(self.input_quantiles)

    def output_distribution(self) -> Empirical:
        return Empirical(self.output_quantiles)


def _prefix(raw: dict | None) -> PrefixProfile | None:
    if not raw:
        return None
    return PrefixProfile(
        mean_blocks_per_request=float(raw["mean_blocks_per_request"]),
        reuse_fraction=float(raw["reuse_fraction"]),
        bins=tuple(
            ReuseBin(
                min_blocks=int(b["min_blocks"]),
                request_fraction=float(b["request_fraction"]),
                hit_fraction=float(b["hit_fraction"]),
                reused_fraction={str(k): float(v) for k, v in (b.get("reused_fraction") or {}).items()},
            )
            for b in raw["bins"]
        ),
        reuse_distance_requests={str(k): float(v) for k, v in raw["reuse_distance_requests"].items()},
    )


@cache
def load_profiles() -> dict[str, TraceProfile]:
    """All built-in profiles by name ('azure-code', 'azure-conv', 'mooncake-conversation', 'mooncake-synthetic')."""
    raw = parse_yaml(_FILE.read_text(), str(_FILE))["profiles"]
    out: dict[str, TraceProfile] = {}
    for name, tree in raw.items():
        plain, sources, unsourced = split_sources(tree)
        if unsourced:
            raise SpecError(str(_FILE), [(f"{name}.{p}", "figure without a source") for p in unsourced])
        try:
            out[name] = TraceProfile(
                name=name,
                source=str(tree["source"]),
                description=str(plain["description"]),
                file=str(plain["file"]),
                requests=int(plain["requests"]),
                duration_s=float(plain["duration_s"]),
                mean_rate_per_s=float(plain["mean_rate_per_s"]),
                interarrival_cv=float(plain["interarrival_cv"]),
                input_mean_tokens=float(plain["input_tokens"]["mean"]),
                input_quantiles={str(k): float(v) for k, v in plain["input_tokens"]["quantiles"].items()},
                output_mean_tokens=float(plain["output_tokens"]["mean"]),
                output_quantiles={str(k): float(v) for k, v in plain["output_tokens"]["quantiles"].items()},
                prefix=_prefix(plain.get("prefix")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise SpecError(str(_FILE), [(name, f"missing or invalid field: {exc}")]) from None
    return out


def get_profile(name: str) -> TraceProfile:
    """The built-in profile `name`; an unknown name lists the known ones."""
    profiles = load_profiles()
    if name not in profiles:
        raise JalapenoError(f"unknown trace profile '{name}'. Known trace profiles: {', '.join(profiles)}")
    return profiles[name]
