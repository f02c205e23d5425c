"""The speculative-decoding flags predict, plan, compare and capacity share with simulate."""

from __future__ import annotations

from typing import Annotated

import typer

from jalapeno.engine.speculative import SpecRequest
from jalapeno.models.config import load_model

SpecOpt = Annotated[str | None, typer.Option("--spec", help="Speculative decoding: none, ngram, draft, eagle or mtp "
                                                     "(plan/compare: auto = every method the stack runs).")]
SpecTokensOpt = Annotated[int | None, typer.Option("--spec-tokens",
                                                   help="Tokens drafted per step (default per method).")]
SpecAcceptanceOpt = Annotated[str | None, typer.Option(
    "--spec-acceptance", help="Acceptance per drafted token, or one per position like 0.9,0.8,0.6 "
                              "(default: published measurements per method).")]
DraftModelOpt = Annotated[str | None, typer.Option("--draft-model",
                                                   help="Draft model id or config.json (--spec draft).")]


def spec_request(method: str | None, tokens: int | None, acceptance: str | None, draft: str | None) -> SpecRequest:
    return SpecRequest(method, tokens, acceptance, load_model(draft) if draft else None)
