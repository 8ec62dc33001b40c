"""The CLI's contract for errors a user can fix: one line naming the file or field, exit status 2."""

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def forge(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "jobs.cli", *args], capture_output=True, text=True, cwd=REPO,
                          timeout=300)


def error_lines(p: subprocess.CompletedProcess) -> list[str]:
    return [ln for ln in p.stderr.splitlines() if ln.startswith("forge: error:")]


@pytest.fixture(scope="module")
def broken_spec(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("specs") / "broken.py"
    path.write_text("x = 1\nimport no_such_module_for_forge\n")
    return path


@pytest.mark.parametrize("verb", [["generate"], ["curate"], ["mix", "build"], ["train"]])
def test_a_spec_that_fails_to_import_is_one_line_naming_file_and_line(verb, broken_spec, tmp_path):
    extra = {"generate": ["--out", str(tmp_path / "o")], "curate": ["--input", str(broken_spec), "--out",
                                                                    str(tmp_path / "o")]}.get(verb[0], [])
    p = forge(*verb, str(broken_spec), *extra)
    assert p.returncode == 2, p.stderr
    assert error_lines(p) == [f"forge: error: {broken_spec}:2: spec failed to import: ModuleNotFoundError: "
                              "No module named 'no_such_module_for_forge'; fix the spec and rerun"]
    assert "Traceback" not in p.stderr


def test_missing_spec_file_and_debug_traceback(tmp_path):
    p = forge("generate", str(tmp_path / "nope.py"), "--out", str(tmp_path / "o"))
    assert p.returncode == 2
    assert error_lines(p) == [f"forge: error: {tmp_path / 'nope.py'}: no such spec file; check the path"]
    p = forge("--debug", "generate", str(tmp_path / "nope.py"), "--out", str(tmp_path / "o"))
    assert p.returncode == 2 and "Traceback" in p.stderr


def test_missing_input_path_names_the_option():
    p = forge("curate", str(REPO / "jobs" / "demo_specs" / "pipeline.py"), "--input", "/nonexistent/in.jsonl",
              "--out", "/tmp/forge-never-written")
    assert p.returncode == 2
    assert error_lines(p) == ["forge: error: --input /nonexistent/in.jsonl: no such file or directory"]
    assert not Path("/tmp/forge-never-written").exists()


def test_a_model_that_cannot_be_found_is_named(tmp_path):
    p = forge("generate", str(REPO / "examples" / "generate" / "qa_judge.py"), "--out", str(tmp_path / "o"),
              "--model", str(tmp_path / "no-model"))
    assert p.returncode == 2
    [line] = error_lines(p)
    assert f"model '{tmp_path / 'no-model'}'" in line and "nothing is downloaded from a model hub" in line
