"""The precision and fixed-length workload flags every command declares the same way (predict,
compare, plan, sensitivity, fleet, simulate, capacity): one place for their names and help."""

from __future__ import annotations

from typing import Annotated

import typer

PRECISION_HELP = "Weight format: bf16, fp8, fp4, int8 or int4 (default: the model's native format)."
PrecisionOpt = Annotated[str | None, typer.Option("--precision", help=PRECISION_HELP)]
# Fixed lengths (predict, compare, plan, sensitivity); simulate and capacity take means of their own.
InputTokensOpt = Annotated[int, typer.Option("--input-tokens", help="Prompt tokens per request.")]
OutputTokensOpt = Annotated[int, typer.Option("--output-tokens", help="Generated tokens per request.")]
