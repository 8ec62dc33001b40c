"""`forge`: the command line of the engine.

    forge prepare                                   # make the embedded models ready offline
    forge demo --out DIR                            # generate -> curate -> mix -> train, end to end
    forge generate graph.py --out DIR               # DataForge walks
    forge curate pipeline.py --input X --out Y      # Spark curation
    forge mix build mixture.py                      # versioned mixture
    forge train train.py                            # DeepSpeed run

Errors a user can fix print one line and exit 2; `--debug` shows tracebacks.
"""

from __future__ import annotations

import sys
import traceback

import click
import typer
from rich.console import Console

from dataforge.core.errors import ForgeError
from jobs.cli_base import new_app

err = Console(stderr=True)
_state = {"debug": False}


app = new_app("DataForge: generate -> curate -> mix -> train, with Spark and DeepSpeed.")


@app.callback()
def _root(debug: bool = typer.Option(False, "--debug", help="Show full tracebacks on errors.")) -> None:
    _state["debug"] = debug


@app.command()
def prepare() -> None:
    """Make the embedded models ready offline (converts the SmolLM2 GGUF once; cached)."""
    from dataforge.core import models

    for name, path in models.prepare().items():
        typer.echo(f"{name:<11} {path}")


def _register() -> None:
    from jobs import curate, demo, generate, mix, train

    app.command("generate")(generate.cli)
    app.add_typer(curate.app, name="curate")
    app.add_typer(mix.app, name="mix")
    app.add_typer(train.app, name="train")
    app.command("demo")(demo.cli)


_register()


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    _state["debug"] = "--debug" in argv
    command = typer.main.get_command(app)
    try:
        result = command.main(args=argv, prog_name="forge", standalone_mode=False)
        return result if isinstance(result, int) else 0
    except click.exceptions.Exit as e:
        return e.exit_code
    except click.ClickException as e:
        e.show()
        return e.exit_code
    except (click.exceptions.Abort, KeyboardInterrupt):
        err.print("forge: interrupted")
        return 130
    except ForgeError as e:
        if _state["debug"]:
            traceback.print_exc()
        err.print(f"forge: error: {e}", markup=False, highlight=False, soft_wrap=True)
        return 2
    except Exception as e:  # noqa: BLE001 - the last line of defence turns any crash into one line
        if _state["debug"]:
            traceback.print_exc()
        err.print(f"forge: error: {type(e).__name__}: {e} (rerun with --debug for the traceback)",
                  markup=False, highlight=False, soft_wrap=True)
        return 1


if __name__ == "__main__":
    sys.exit(main())
