"""The docs cannot drift from the CLI: README.md's commands run as written (at small sizes), in order,
and every `forge` command in README.md and docs/*.md names a verb and options the CLI knows.

A ```bash block preceded by `<!-- illustrative: why -->`, or a line carrying `# [illustrative]`, is not
run (a cluster, a server, a vLLM install); its `forge` commands are still checked against the CLI.
Small sizes: the only changes made to a command before it runs are the ones in `SMALL` below.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from training.distributed import launch_env

REPO = Path(__file__).resolve().parents[2]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
ILLUSTRATIVE = "[illustrative]"
# (pattern, replacement) applied to a README command before it runs: fewer walks and steps, same verbs.
SMALL = [
    (r"^(forge demo .*)$", r"\1 --walks 12 --max-steps 2"),
    (r"^(forge generate .*)--walks \d+", r"\1--walks 4"),
    (r"^(forge generate examples/(rephrase|ifthink)/\S+ .*)$", r"\1 --walks 2"),
    (r"^(forge train (?!trace)(?!.*--max-steps).*)$", r"\1 --max-steps 3"),
]
# producer verbs print only ids and paths on stdout: one line each
ONE_LINE = ("forge demo", "forge generate", "forge curate", "forge mix build", "forge train", "forge export")


def blocks(path: Path) -> list[tuple[bool, list[str]]]:
    """(illustrative, command lines) of every ```bash block; continuation lines are joined."""
    out, lines = [], path.read_text().splitlines()
    i = 0
    while i < len(lines):
        if lines[i].strip() == "```bash":
            marked = i > 0 and lines[i - 1].strip().startswith("<!-- illustrative")
            j = i + 1
            body: list[str] = []
            while lines[j].strip() != "```":
                line = lines[j]
                if body and body[-1].endswith("\\"):
                    body[-1] = body[-1][:-1] + " " + line.strip()
                elif line.strip() and not line.lstrip().startswith("#"):
                    body.append(line.strip())
                j += 1
            out.append((marked, body))
            i = j
        i += 1
    return out


def strip_comment(line: str) -> str:
    return re.split(r"\s+#", line, maxsplit=1)[0].strip()


def forge_commands() -> list[tuple[str, str]]:
    found = []
    for path in DOCS:
        for _, body in blocks(path):
            for line in body:
                cmd = strip_comment(line)
                m = re.search(r"(?:^|\$\()forge (.*?)\)?$", cmd)
                if m:
                    found.append((f"{path.name}: {cmd}", m.group(1)))
    return found


def _leaf(args: list[str]):
    import typer

    from jobs.cli import app
    from jobs.cli_base import DefaultGroup

    command, path = typer.main.get_command(app), ["forge"]
    while hasattr(command, "commands"):
        name = next((a for a in args if not a.startswith("-")), None)
        if name in command.commands:
            args = args[args.index(name) + 1:]
        elif isinstance(command, DefaultGroup):
            name = command.default_command
        else:
            raise AssertionError(f"no verb {name!r} under {' '.join(path)}")
        command, path = command.commands[name], [*path, name]
    return command, args


@pytest.mark.parametrize("where, args", forge_commands(), ids=lambda x: x if isinstance(x, str) else None)
def test_every_documented_forge_command_names_a_known_verb_and_options(where, args):
    command, rest = _leaf(shlex.split(re.sub(r"\[[^\]]*\]", "", args)))
    known = {o for p in command.params for o in (*p.opts, *p.secondary_opts)} | {"--help", "--debug",
                                                                                  "--verbose"}
    unknown = [a.split("=")[0] for a in rest if a.startswith("--") and a.split("=")[0] not in known]
    assert not unknown, f"{where}: {command.name} has no option {unknown}"


def test_no_mixture_id_placeholder_shorter_than_a_resolvable_prefix():
    for path in DOCS:
        for _, body in blocks(path):
            for line in body:
                m = re.search(r"forge mix (?:show|diff) ([0-9a-f]{1,3})\b", line)
                assert m is None, f"{path.name}: {line}: a prefix needs 4+ characters"


def _run(cmd: str, env: dict, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", f"set -euo pipefail; {cmd}"], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=900)


@pytest.mark.timeout(3000)
def test_readme_commands_run_as_written(tmp_path):
    """Every runnable README command, in order, in a fresh directory that sees the checkout's files."""
    for name in ("examples", "curation", "jobs"):
        (tmp_path / name).symlink_to(REPO / name)
    bin_dir = tmp_path / ".bin"
    bin_dir.mkdir()
    (bin_dir / "forge").write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m jobs.cli "$@"\n')
    (bin_dir / "forge").chmod(0o755)
    # a run inside this process (an earlier test) leaves its one-rank world's RANK and MASTER_PORT in the
    # environment; a command run here starts its own world, as from a fresh shell
    env = launch_env(PATH=f"{bin_dir}:{os.environ['PATH']}", PYTHONPATH=str(REPO), FORGE_EXAMPLE_SMOKE="1",
                     DATAFORGE_CALL_CACHE=str(tmp_path / ".calls"), FORGE_REGISTRY=str(tmp_path / "registry"))
    ran = 0
    for marked, body in blocks(REPO / "README.md"):
        for line in body:
            if marked or ILLUSTRATIVE in line:
                continue
            cmd = strip_comment(line)
            for pattern, repl in SMALL:
                cmd = re.sub(pattern, repl, cmd)
            assign = re.fullmatch(r"(\w+)=\$\((.*)\)", cmd)
            p = _run(assign.group(2) if assign else cmd, env, tmp_path)
            assert p.returncode == 0, f"README: {line}\nran: {cmd}\n{p.stderr[-3000:]}"
            if assign:
                env[assign.group(1)] = p.stdout.strip()
                assert re.fullmatch(r"[0-9a-f]{32,64}", env[assign.group(1)]), f"{cmd}: stdout {p.stdout!r}"
            elif cmd.startswith(ONE_LINE) and not cmd.startswith("forge train trace") and " --plan" not in cmd:
                assert len(p.stdout.splitlines()) == 1, f"{cmd}: stdout must be one line of ids/paths: {p.stdout!r}"
            ran += 1
    assert ran >= 15


def _anchors(path: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to dashes."""
    heads = [ln.lstrip("#").strip() for ln in path.read_text().splitlines() if ln.startswith("#")]
    return {re.sub(r"[^\w\- ]", "", h.lower()).replace(" ", "-") for h in heads}


def test_every_relative_link_and_anchor_in_the_docs_resolves():
    for path in DOCS:
        text = re.sub(r"`[^`\n]*`", "", path.read_text())  # code spans hold no links
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"[a-z]+://", target):
                continue
            file, _, anchor = target.partition("#")
            dest = (path.parent / file).resolve() if file else path
            assert dest.exists(), f"{path.name}: link {target}: no such file"
            if anchor:
                assert anchor in _anchors(dest), f"{path.name}: link {target}: no such heading in {dest.name}"
