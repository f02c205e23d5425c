"""The `jalapeno` command."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from jalapeno.cli.catalog_cmds import chips_app, models_app
from jalapeno.cli.checks import Interrupted, OneLineErrors, install_interrupt_handler
from jalapeno.cli.cost_cmds import cost_cmd
from jalapeno.cli.explore_cmds import explore_app
from jalapeno.cli.fleet_cmd import fleet_cmd
from jalapeno.cli.kernel_cmds import kernel_app
from jalapeno.cli.output import FORMATS, set_format, user_errors
from jalapeno.cli.plan_cmd import plan_cmd, systems_app
from jalapeno.cli.predict_cmds import compare_cmd, predict_cmd
from jalapeno.cli.report_cmd import report_cmd
from jalapeno.cli.sensitivity_cmd import sensitivity_cmd
from jalapeno.cli.serve_cmds import capacity_cmd, simulate_cmd
from jalapeno.cli.validate_cmd import validate_cmd


def _flags_without_metavar() -> None:
    """typer (0.2x) prints a `<bool>` type column for on/off flags, which take no value; show none."""
    try:
        from typer.core import TyperOption
    except ImportError:  # pragma: no cover - another typer layout: keep its rendering
        return
    original = getattr(TyperOption, "display_type_rich", None)
    if original is None or getattr(original, "_jalapeno", False):
        return

    def display_type_rich(self, ctx):
        return None if getattr(self, "is_flag", False) else original(self, ctx)

    display_type_rich._jalapeno = True  # type: ignore[attr-defined]
    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]


_flags_without_metavar()

app = typer.Typer(
    help="jalapeno: a first-principles model of LLM inference chips, validated against published measurements.",
    no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False, cls=OneLineErrors,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        import jalapeno

        typer.echo(f"jalapeno {jalapeno.__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
    output_format: Annotated[str, typer.Option("--format", metavar="|".join(FORMATS),
                                               help="How tables print: rich tables, GitHub markdown or CSV "
                                                    "(raw numbers).")] = "table",
):
    """jalapeno: a first-principles model of LLM inference chips, validated against published measurements."""
    user_errors(set_format)(output_format)


app.add_typer(chips_app, name="chips")
app.add_typer(models_app, name="models")
app.add_typer(kernel_app, name="kernel")
app.add_typer(systems_app, name="systems")
app.add_typer(explore_app, name="explore")
app.command("predict")(user_errors(predict_cmd))
app.command("compare")(user_errors(compare_cmd))
app.command("validate")(user_errors(validate_cmd))
app.command("plan")(user_errors(plan_cmd))
app.command("simulate")(user_errors(simulate_cmd))
app.command("capacity")(user_errors(capacity_cmd))
app.command("sensitivity")(user_errors(sensitivity_cmd))
app.command("cost")(user_errors(cost_cmd))
app.command("fleet")(user_errors(fleet_cmd))
app.command("report")(user_errors(report_cmd))


def run() -> None:
    """The console entry point: Ctrl-C prints one line and exits 130."""
    install_interrupt_handler()
    try:
        app()
    except Interrupted:
        sys.stderr.write("interrupted\n")
        sys.exit(130)
