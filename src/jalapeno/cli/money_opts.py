"""The `--cost-basis` option and the step that adds money fields to a command's result.

Commands that report throughput call `add_money` on their result dict after computing it; the
economics layer does the arithmetic (jalapeno.economics.money), this module only wires the option.
"""

from __future__ import annotations

from typing import Annotated

import typer

from jalapeno.economics.money import CostBasis, money_fields, parse_cost_basis
from jalapeno.hardware.spec import ChipSpec, Node

CostBasisOpt = Annotated[str, typer.Option(
    "--cost-basis", help="How chips are priced for $/Mtoken: auto (cloud price where public, else build), "
                         "build, asp, cloud, cloud:committed, cloud:on-demand, or a $ per chip-hour number.")]

MONEY_KEYS = ("usd_per_million_output_tokens", "usd_per_million_tokens_blended_3to1", "output_tokens_per_s_per_mw",
              "cost_basis")


def basis(text: str | None) -> CostBasis:
    return parse_cost_basis(text)


def add_money(d: dict, chip: ChipSpec, chips: int, cost_basis: CostBasis, output_tokens_per_s: float,
              input_tokens_per_s: float, power_w: float, hosts: Node | None = None) -> dict:
    """`d` with the money fields merged in (in place, and returned)."""
    d.update(money_fields(chip, chips, output_tokens_per_s, input_tokens_per_s, power_w, cost_basis,
                          hosts=hosts).to_dict())
    return d
