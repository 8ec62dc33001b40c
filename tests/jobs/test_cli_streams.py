"""Every verb: a usage mistake prints the usage line and one error, exit 2; stdout carries only ids and paths.

The producer verbs' stdout (generate, curate, mix build, train, export, demo) is checked on real runs by
tests/jobs/test_readme_commands.py; here are the verbs that answer in a second.
"""

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def forge(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "jobs.cli", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=300, env={**__import__("os").environ, "PYTHONPATH": str(REPO)})


VERBS = [  # (a mistaken command line, its usage line, what the error says)
    (["prepare", "extra"], "Usage: forge prepare [OPTIONS]", "unexpected extra argument"),
    (["demo", "--walks", "many"], "Usage: forge demo [OPTIONS]", "--walks"),
    (["generate", "g.py", "--walks", "0"], "Usage: forge generate [OPTIONS] GRAPH", "--walks"),
    (["curate", "p.py", "--text-field", "x"], "Usage: forge curate run [OPTIONS] PIPELINE",
     "No such option: --text-field"),
    (["curate", "train-classifier", "--positive", "a"], "Usage: forge curate train-classifier [OPTIONS]",
     "Missing option '--negative'"),
    (["mix", "build"], "Usage: forge mix build [OPTIONS] SPEC", "Missing argument 'SPEC'"),
    (["mix", "list", "extra"], "Usage: forge mix list [OPTIONS]", "unexpected extra argument"),
    (["mix", "show"], "Usage: forge mix show [OPTIONS] ID", "Missing argument 'ID'"),
    (["mix", "diff", "3f2a"], "Usage: forge mix diff [OPTIONS] A B", "Missing argument 'B'"),
    (["mix", "nosuch"], "Usage: forge mix [OPTIONS] COMMAND [ARGS]...", "No such command 'nosuch'"),
    (["train", "t.py", "--max-steps", "x"], "Usage: forge train run [OPTIONS] SPEC", "--max-steps"),
    (["train", "trace", "runs/x"], "Usage: forge train trace [OPTIONS] RUN_DIR", "Missing option '--step'"),
    (["export", "out/web"], "Usage: forge export [OPTIONS] DIR", "Missing option '--to'"),
    (["--bogus"], "Usage: forge [OPTIONS] COMMAND [ARGS]...", "No such option: --bogus"),
]


@pytest.mark.parametrize("args, usage, says", VERBS, ids=[" ".join(v[0]) for v in VERBS])
def test_each_verb_shows_its_usage_line_and_one_error_on_stderr_and_exits_2(args, usage, says):
    p = forge(*args)
    assert p.returncode == 2, p.stderr
    assert p.stdout == ""
    lines = p.stderr.splitlines()
    assert lines[0] == usage, p.stderr
    [error] = [ln for ln in lines if ln.startswith("forge: error:")]
    assert says in error and "--debug" not in p.stderr


def test_version_goes_to_stdout():
    from dataforge import __version__

    p = forge("--version")
    assert (p.returncode, p.stdout, p.stderr) == (0, f"forge {__version__}\n", "")


def test_prepare_prints_only_model_paths_on_stdout():
    p = forge("prepare")
    assert p.returncode == 0, p.stderr
    rows = [ln.split() for ln in p.stdout.splitlines()]
    assert rows and all(len(r) == 2 and Path(r[1]).exists() for r in rows), p.stdout


def test_mix_list_of_an_empty_registry_says_so_on_stderr(tmp_path):
    p = forge("mix", "list", "--registry", str(tmp_path))
    assert (p.returncode, p.stdout) == (0, "") and f"no mixtures in {tmp_path}" in p.stderr.replace("\n", "")


def test_a_bad_mixture_prefix_is_one_error_line_on_stderr(tmp_path):
    p = forge("mix", "show", "3f2a", "--registry", str(tmp_path))
    assert (p.returncode, p.stdout) == (2, "")
    assert p.stderr.startswith("forge: error: mixture 3f2a: not a mixture directory and not found in registry")
