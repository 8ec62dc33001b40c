"""Shared pieces of the CLI: command groups with a default command, and app construction."""

from __future__ import annotations

import click
import typer
from typer.core import TyperGroup


class DefaultGroup(TyperGroup):
    """A command group whose first argument, when it names no subcommand, goes to `run`.

    So `forge curate pipeline.py ...` and `forge curate train-classifier ...` both work.
    """

    default_command = "run"

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and not args[0].startswith("-") and args[0] not in self.commands:
            args.insert(0, self.default_command)
        return super().parse_args(ctx, args)


def new_app(help: str, default_group: bool = False) -> typer.Typer:
    return typer.Typer(help=help, cls=DefaultGroup if default_group else None, no_args_is_help=True,
                       pretty_exceptions_enable=False, add_completion=False)


def _usage_piece(param) -> list[str]:
    name = param.metavar if param.required else f"[{param.metavar}]"
    return [name + ("..." if param.nargs != 1 else "")]


def upper_metavars(command) -> None:
    """Show arguments the usual way, `forge curate run [OPTIONS] PIPELINE`, in usage lines and errors
    (typer writes `{pipeline}`)."""
    for param in getattr(command, "params", []):
        if getattr(param, "param_type_name", "") == "argument" and param.metavar is None:
            param.metavar = param.name.upper()
            param.get_usage_pieces = lambda _ctx, p=param: _usage_piece(p)
    for sub in getattr(command, "commands", {}).values():
        upper_metavars(sub)


def new_png(path, option: str = "--png"):
    """A chart path the user named: refused in one line (before any work) when it exists, so a preview
    never replaces a file it did not create. Missing folders above it are made when it is written."""
    from pathlib import Path

    from dataforge.core.errors import ForgeError

    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ForgeError(f"{option} {path}: give a file name ending in .png")
    if path.exists() or path.is_symlink():
        raise ForgeError(f"{option} {path}: already exists; name a new file (a preview never replaces one)")
    if path.parent.exists() and not path.parent.is_dir():
        raise ForgeError(f"{option} {path}: {path.parent} is not a folder")
    return path
