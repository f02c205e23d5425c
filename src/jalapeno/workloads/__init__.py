"""Workloads: the requests a simulated server receives, from real traces or from generators.

The lowest layer (DESIGN §2): it imports nothing from the rest of jalapeno except errors and the
sourced-data helper. `Request` is the one record the serving layer consumes; every source here is
a lazy stream of Requests in arrival order.
"""

from jalapeno.workloads.agents import AgentSession, PlannedTurn, agent_session_plans, agent_sessions
from jalapeno.workloads.distributions import Distribution, Empirical, Exponential, Fixed, LogNormal
from jalapeno.workloads.generators import from_profile, gamma_bursty, poisson
from jalapeno.workloads.paths import TRACE_FILES, find_traces_dir, resolve_trace
from jalapeno.workloads.profiles import TraceProfile, get_profile, load_profiles
from jalapeno.workloads.request import BLOCK_TOKENS, Request
from jalapeno.workloads.scaling import scale_to_rate, take
from jalapeno.workloads.stats import TokenStats, TraceStats, trace_stats
from jalapeno.workloads.traces import LoadReport, Trace, TraceRowError, load_trace

__all__ = [
    "BLOCK_TOKENS",
    "TRACE_FILES",
    "AgentSession",
    "Distribution",
    "Empirical",
    "Exponential",
    "Fixed",
    "LoadReport",
    "LogNormal",
    "PlannedTurn",
    "Request",
    "TokenStats",
    "Trace",
    "TraceProfile",
    "TraceRowError",
    "TraceStats",
    "agent_session_plans",
    "agent_sessions",
    "find_traces_dir",
    "from_profile",
    "gamma_bursty",
    "get_profile",
    "load_profiles",
    "load_trace",
    "poisson",
    "resolve_trace",
    "scale_to_rate",
    "take",
    "trace_stats",
]
