"""`forge`: the command line of the engine.

    forge prepare                                   # make the embedded models ready offline
    forge demo --out DIR                            # generate -> curate -> mix -> train, end to end
    forge generate graph.py --out DIR               # DataForge walks
    forge curate pipeline.py --input X --out Y      # Spark curation
    forge mix build mixture.py                      # versioned mixture
    forge train train.py                            # DeepSpeed run
    forge export DIR --to PATH                      # a clean, Hub-ready copy of an output

Errors a user can fix print one line and exit 2; `--debug` shows tracebacks (see jobs/cli_errors.py).
"""

from __future__ import annotations

import sys

import typer

from jobs.cli_base import new_app, upper_metavars
from jobs.cli_errors import report

_state = {"debug": False}


app = new_app("DataForge: generate -> curate -> mix -> train, with Spark and DeepSpeed.")


def _version(value: bool) -> None:
    if value:
        from dataforge import __version__

        typer.echo(f"forge {__version__}")
        raise typer.Exit()


@app.callback()
def _root(debug: bool = typer.Option(False, "--debug", help="Show full tracebacks on errors."),
          verbose: bool = typer.Option(False, "--verbose", help="Also show Spark's own log lines and stage bars."),
          version: bool = typer.Option(False, "--version", is_eager=True, callback=_version,
                                       help="Print the version and exit.")) -> None:
    _state["debug"] = debug
    if verbose:
        import os

        from dataforge.core.spark import LOG_ENV

        os.environ[LOG_ENV] = "INFO"


@app.command()
def prepare() -> None:
    """Make the embedded models ready offline (converts the SmolLM2 GGUF once; cached)."""
    from dataforge.core import models

    for name, path in models.prepare().items():
        typer.echo(f"{name:<11} {path}")


def _register() -> None:
    from jobs import curate, demo, export, generate, mix, train

    app.command("generate")(generate.cli)
    app.add_typer(curate.app, name="curate")
    app.add_typer(mix.app, name="mix")
    app.add_typer(train.app, name="train")
    app.command("demo")(demo.cli)
    app.command("export")(export.cli)


_register()


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    _state["debug"] = "--debug" in argv
    command = typer.main.get_command(app)
    upper_metavars(command)
    try:
        result = command.main(args=argv, prog_name="forge", standalone_mode=False)
        return result if isinstance(result, int) else 0
    except (Exception, SystemExit, KeyboardInterrupt) as e:  # noqa: BLE001 - the last line of defence
        return report(e, _state["debug"])


if __name__ == "__main__":
    sys.exit(main())
