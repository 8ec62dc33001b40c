"""One-line errors wherever a failure happens: the driver, a Spark executor, argument parsing, spec import.

Each fault point runs through the CLI as a user would and checks: exit status, exactly one
`forge: error:` line naming what is at fault (URL, record, spec file, field), no Python traceback, no
Java stack or Spark log noise, and no output directory left behind.
"""

from __future__ import annotations

import pytest

from dataforge.core.errors import ForgeError
from dataforge.core.spark_errors import SparkTaskError, spark_failure
from jobs.cluster import free_port
from tests.reliability.conftest import REPO, error_line, forge
from tests.reliability.fake_openai import serve

TINY_QA = REPO / "tests" / "dataforge" / "specs" / "tiny_qa.py"
KEY = "sk-errors-5d1c9e7a3b2f8064"
FAST = ["--option", "max_retries=1", "--option", "backoff=0.01", "--option", "timeout=1", "--option", f"api_key={KEY}"]
NOISE = ("\tat ", "org.apache.spark", "py4j", "Exception in task", "TaskSetManager", "SQLSTATE")


def assert_quiet(p) -> None:
    """No Java stack, no Spark log line, no traceback on stderr, and no API key anywhere."""
    bad = [ln for ln in p.stderr.splitlines() if any(n in ln for n in NOISE)]
    assert not bad, p.stderr[-3000:]
    assert "Traceback" not in p.stderr, p.stderr[-3000:]
    assert KEY not in p.stderr + p.stdout


def generate(url: str, out, *extra: str):
    return forge("generate", str(TINY_QA), "--out", str(out), "--backend", "openai", "--model", "m",
                 "--base-url", url, *FAST, "--no-cache", "--walks", "2", "--master", "local[1]", *extra)


@pytest.mark.parametrize("mode, says", [
    ("500", "HTTP 500"),
    ("slow", "timed out after 1s"),
    ("garbage", "not JSON"),
    ("401", "HTTP 401"),
])
def test_llm_server_failure_in_an_executor_is_one_line_naming_the_url(mode, says, tmp_path):
    with serve() as fake:
        fake.mode = mode
        p = generate(fake.url, tmp_path / "out")
    assert p.returncode == 2, p.stderr[-3000:]
    line = error_line(p)
    assert fake.url in line and says in line, line
    assert "walks " in line  # the walks of the failed partition are named
    assert_quiet(p)
    assert not (tmp_path / "out").exists()


def test_unreachable_llm_server_is_one_line_naming_the_url(tmp_path):
    url = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    p = generate(url, tmp_path / "out")
    assert p.returncode == 2, p.stderr[-3000:]
    line = error_line(p)
    assert url in line and "cannot connect" in line and "--base-url" in line, line
    assert_quiet(p)
    assert not (tmp_path / "out").exists()


JUDGE_SPEC = '''
from curation import LLMJudgeFilter
from dataforge.backends import BackendSpec

pipeline = [LLMJudgeFilter(rubric="Plain English prose.", threshold=2, backend=BackendSpec(
    kind="openai", model="judge", options={{"base_url": "{url}", "max_retries": 1, "backoff": 0.01}}))]
'''


def test_judge_server_failure_stops_the_curation_with_one_line_naming_url_and_record(tmp_path):
    data = tmp_path / "in.jsonl"
    data.write_text('{"id": "doc-1", "text": "A short plain sentence about bread."}\n'
                    '{"id": "doc-2", "text": "Another plain sentence, about rivers."}\n')
    with serve() as fake:
        fake.mode = "500"
        spec = tmp_path / "judge.py"
        spec.write_text(JUDGE_SPEC.format(url=fake.url))
        p = forge("curate", str(spec), "--input", str(data), "--out", str(tmp_path / "out"))
    assert p.returncode == 2, p.stderr[-3000:]
    line = error_line(p)
    assert fake.url in line and "HTTP 500" in line and "LLMJudgeFilter, record 'doc-" in line, line
    assert_quiet(p)
    assert not (tmp_path / "out").exists()  # nothing quarantined as if the records were at fault


def test_unexpected_executor_exception_is_one_line_naming_its_type(spark):
    def boom(_):
        raise ValueError("bad value 42")

    def refuse(_):
        raise ForgeError("openai backend: http://h:1/v1: cannot connect; check --base-url")

    with pytest.raises(Exception) as e:
        spark.sparkContext.parallelize([1], 1).map(boom).collect()
    found = spark_failure(e.value)
    assert isinstance(found, SparkTaskError)
    assert str(found) == "ValueError: bad value 42 in a Spark task (rerun with --debug for the traceback)"
    with pytest.raises(Exception) as e:
        spark.range(2).mapInArrow(lambda it: map(boom, it), "id long").collect()
    assert str(spark_failure(e.value)).startswith("ValueError: bad value 42 in a Spark task")
    with pytest.raises(Exception) as e:
        spark.sparkContext.parallelize([1], 1).map(refuse).collect()
    found = spark_failure(e.value)
    assert isinstance(found, ForgeError) and str(found) == "openai backend: http://h:1/v1: cannot connect; " \
        "check --base-url"
    assert spark_failure(ValueError("not from spark")) is None


@pytest.mark.parametrize("args, usage, says", [
    (["curate", "run", "x.py", "--bogus"], "Usage: forge curate run [OPTIONS] PIPELINE",
     "No such option: --bogus"),
    (["curate", "run"], "Usage: forge curate run [OPTIONS] PIPELINE", "Missing argument 'PIPELINE'"),
    (["generate", "g.py"], "Usage: forge generate [OPTIONS] GRAPH", "Missing option '--out'"),
    (["nosuchverb"], "Usage: forge [OPTIONS] COMMAND [ARGS]...", "No such command 'nosuchverb'"),
])
def test_usage_errors_show_the_usage_line_and_one_error_and_exit_2(args, usage, says):
    p = forge(*args)
    assert p.returncode == 2, p.stderr
    assert usage in p.stderr.splitlines(), p.stderr
    assert says in error_line(p)
    assert "--debug" not in p.stderr


def test_version_prints_the_version():
    from dataforge import __version__

    p = forge("--version")
    assert p.returncode == 0 and p.stdout.strip() == f"forge {__version__}"


@pytest.mark.parametrize("body, says", [
    ("import sys\nsys.exit(3)\n", "SystemExit: exit(3) was called"),
    ("exit()\n", "SystemExit: exit() was called"),
    ("raise KeyError('graph')\n", "KeyError: 'graph'"),
])
def test_a_spec_that_exits_or_raises_at_import_is_one_line_naming_the_file(body, says, tmp_path):
    spec = tmp_path / "spec.py"
    spec.write_text("x = 1\n" + body)
    p = forge("generate", str(spec), "--out", str(tmp_path / "out"))
    assert p.returncode == 2, p.stderr
    line = error_line(p)
    assert line.startswith(f"forge: error: {spec}:") and says in line, line
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("body, says", [
    ("from dataforge import Sampling\ns = Sampling(max_tokens=0)\n",
     "Sampling.max_tokens: must be >= 1"),
    ("from dataforge.backends import BackendSpec\nb = BackendSpec(kind='openai', options={'api_kye': 'x'})\n",
     "BackendSpec.options: unknown option 'api_kye' for the openai backend; known options: base_url, "
     "api_key"),
    ("from dataforge.backends import BackendSpec\nb = BackendSpec(batch_size=0)\n", "BackendSpec.batch_size"),
])
def test_a_bad_model_or_backend_value_in_a_spec_names_the_field(body, says, tmp_path):
    spec = tmp_path / "spec.py"
    spec.write_text(body)
    p = forge("generate", str(spec), "--out", str(tmp_path / "out"))
    assert p.returncode == 2, p.stderr
    assert says in error_line(p)


def test_an_unknown_backend_option_on_the_command_line_names_it(tmp_path):
    p = forge("generate", str(TINY_QA), "--out", str(tmp_path / "out"), "--backend", "openai", "--option",
              "concurrencyy=4")
    assert p.returncode == 2, p.stderr
    assert "unknown option 'concurrencyy' for the openai backend" in error_line(p)
    assert not (tmp_path / "out").exists()


def test_backend_option_lists_match_the_constructors():
    import inspect

    from dataforge.backends.openai import OpenAIBackend
    from dataforge.backends.registry import OPTIONS
    from dataforge.backends.transformers import TransformersBackend
    from dataforge.backends.vllm import VLLMBackend

    kinds = {"transformers": TransformersBackend, "vllm": VLLMBackend, "openai": OpenAIBackend}
    for kind, cls in kinds.items():
        params = set(inspect.signature(cls.__init__).parameters) - {"self", "model", "batch_size"}
        assert set(OPTIONS[kind]) == params, kind
