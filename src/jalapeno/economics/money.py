"""Money fields of a result: $/Mtoken and tokens/s per provisioned MW, on a named cost basis.

A separate step applied to any result that reports throughput (predict, plan, compare, simulate,
fleet): it takes the result's output and input token rates, its wall power, the chip and how many,
and a cost basis, and returns the fields the CLI merges into its output. Cost bases:
- `cloud[:committed|:on-demand]`: a public $/chip-hour (economics/data/cloud_prices.yaml); the price
  includes host, network, building and power, so $/Mtoken = price x chips / tokens per hour.
- `build`: the chip's build cost + NRE share + system share, amortized (economics/tco.py), plus
  energy at the result's power x PUE x electricity price.
- `asp`: as build, with the device's public price instead of its build cost.
- a number: that many dollars per chip-hour, all in.
- `auto` (the default): cloud where the chip has a public price, else build; a comparison of
  several chips (compare, fleet) uses one basis for all (`common_basis`).
Tokens/s per MW are per provisioned facility power: chips x ((TDP + host share) / PSU efficiency +
network share) x PUE, what a data-center planner reserves for them.
`usd_per_million_output_tokens` charges the whole cost to output tokens (prompt work included);
`usd_per_million_total_tokens` spreads it over input + output tokens (as InferenceX quotes);
`usd_per_million_tokens_blended_3to1` prices input tokens at a public input:output price ratio and
quotes 3 input : 1 output, as public price lists do.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from jalapeno.economics.cloud import cloud_price, has_cloud_price
from jalapeno.economics.data import load
from jalapeno.economics.tco import TcoInputs, chip_hour_cost, provisioned_it_w, tco_inputs
from jalapeno.errors import JalapenoError
from jalapeno.hardware.spec import ChipSpec, Node


@dataclass(frozen=True)
class CostBasis:
    kind: str  # auto | build | asp | cloud | price
    term: str | None = None
    usd_per_chip_hour: float | None = None


def common_basis(basis: CostBasis, chip_ids: list[str]) -> CostBasis:
    """For a comparison: `auto` becomes cloud only when every chip has a public cloud price, else
    build for all of them, so one table never mixes rented and owned chips."""
    if basis.kind != "auto":
        return basis
    return CostBasis("cloud") if all(has_cloud_price(c) for c in chip_ids) else CostBasis("build")


def parse_cost_basis(text: str | None) -> CostBasis:
    """`build`, `asp`, `cloud`, `cloud:committed`, `cloud:on-demand`, `auto` or a $/chip-hour."""
    t = (text or "auto").strip().lower()
    if t in ("auto", "build", "asp", "cloud"):
        return CostBasis(t)
    if t.startswith("cloud:"):
        return CostBasis("cloud", t.split(":", 1)[1])
    try:
        v = float(t)
    except ValueError:
        raise JalapenoError(f"--cost-basis: expected build, asp, cloud, cloud:committed, cloud:on-demand or a "
                            f"price in $ per chip-hour, got '{text}'") from None
    if not (v > 0 and v < float("inf")):
        raise JalapenoError(f"--cost-basis: a price per chip-hour must be above 0 (got {text})")
    return CostBasis("price", usd_per_chip_hour=v)


@dataclass(frozen=True)
class MoneyFields:
    cost_basis: str
    cost_basis_source: str
    usd_per_chip_hour: float
    usd_per_hour: float
    usd_per_million_output_tokens: float
    usd_per_million_total_tokens: float
    usd_per_million_tokens_blended_3to1: float
    output_tokens_per_s_per_mw: float
    provisioned_mw: float

    def to_dict(self) -> dict:
        return asdict(self)


def money_fields(chip: ChipSpec, chips: int, output_tokens_per_s: float, input_tokens_per_s: float,
                 power_w: float, basis: CostBasis | str | None = None, inputs: TcoInputs | None = None,
                 hosts: Node | None = None) -> MoneyFields:
    """$/Mtoken and tokens/s per provisioned MW of `chips` chips producing `output_tokens_per_s`
    (and prefilling `input_tokens_per_s`) at a wall power of `power_w` (host share included)."""
    b = basis if isinstance(basis, CostBasis) else parse_cost_basis(basis)
    if chips < 1:
        raise JalapenoError(f"money fields need at least one chip (got {chips})")
    kind = b.kind
    if kind == "auto":
        kind = "cloud" if has_cloud_price(chip.id) else "build"
    t = inputs or tco_inputs()
    own = chip_hour_cost(chip, kind, power_w / chips, t, hosts=hosts) if kind in ("build", "asp") else None
    prov = provisioned_it_w(chip, t, hosts) * t.pue
    if kind == "cloud":
        p = cloud_price(chip.id, b.term)
        per_chip, name = p.usd_per_chip_hour, f"cloud {p.term} ${p.usd_per_chip_hour:g}/chip-hour ({p.date})"
        src = p.source
    elif kind == "price" and b.usd_per_chip_hour is not None:
        per_chip, name = b.usd_per_chip_hour, f"given ${b.usd_per_chip_hour:g}/chip-hour"
        src = "--cost-basis"
    else:
        assert own is not None
        per_chip = own.usd_per_chip_hour
        name = f"{kind} ${own.usd_per_chip_hour:.2f}/chip-hour"
        src = (f"economics TCO: ${own.capex_usd_per_chip:,.0f} capex per chip over {own.inputs.life_years:g} years at "
               f"{own.inputs.cost_of_capital:.0%}, energy at PUE {own.inputs.pue:g} and "
               f"${own.inputs.electricity_usd_per_kwh:g}/kWh (jalapeno cost --chip {chip.id})")
    usd_h = per_chip * chips
    tco = load("tco")[0]
    k, share_in = tco["input_to_output_price_ratio"], tco["blended_input_share"]
    out_h = max(output_tokens_per_s, 0.0) * 3600
    in_h = max(input_tokens_per_s, 0.0) * 3600
    nan = float("nan")
    per_out = usd_h / out_h * 1e6 if out_h else nan
    per_total = usd_h / (out_h + in_h) * 1e6 if out_h + in_h else nan
    p_out = usd_h / (out_h + k * in_h) * 1e6 if out_h else nan
    blended = share_in * k * p_out + (1 - share_in) * p_out
    mw = chips * prov / 1e6
    return MoneyFields(name, src, per_chip, usd_h, per_out, per_total, blended, output_tokens_per_s / mw, mw)


def result_money(result: dict, chip: ChipSpec, chips: int, basis: CostBasis | str | None = None,
                 inputs: TcoInputs | None = None, hosts: Node | None = None) -> dict:
    """Money fields for a result dict with `output_tokens_per_s`, `power_w` (or `average_power_w`)
    and the workload's `input_tokens`/`output_tokens` per request (or an `input_tokens_per_s`)."""
    out = float(result.get("output_tokens_per_s") or 0.0)
    if "input_tokens_per_s" in result:
        inp = float(result["input_tokens_per_s"])
    elif result.get("output_tokens"):
        inp = out * float(result.get("input_tokens", 0)) / float(result["output_tokens"])
    else:
        inp = 0.0
    power = float(result.get("power_w") or result.get("average_power_w") or 0.0)
    return money_fields(chip, chips, out, inp, power, basis, inputs, hosts).to_dict()
