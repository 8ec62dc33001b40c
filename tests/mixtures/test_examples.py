"""Every shipped mixture example builds."""

from pathlib import Path

from jobs.cli import main as forge
from mixtures import open_mixture

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "mix"


def test_shipped_example_builds_with_the_embedded_tokenizer(spark, tmp_path, capsys):
    assert forge(["mix", "build", str(EXAMPLES / "mixture.py"), "--registry", str(tmp_path)]) == 0
    mid = capsys.readouterr().out.strip().splitlines()[-1]
    mx = open_mixture(mid, tmp_path)
    assert mx.manifest.extra["tokenizer"]["name"] == "smollm2-135m-instruct"
    assert [(s.name, s.sft) for s in mx.stages] == [("stable", False), ("sft", True)]
    assert sorted(mx.stage("sft").sources) == ["chat", "math", "web"]
    assert all(s["manifest_id"] for s in mx.sources.values())
    assert (mx.tokenizer_path / "tokenizer.json").is_file()
