"""End to end: best-of-n preference records generated (Spark job), curated, and accepted by a DPO mixture."""

from pathlib import Path

import pyarrow.parquet as pq

from jobs.cli import main

SPECS = Path(__file__).parent / "specs"


def test_preference_records_are_generated_curated_and_mixed(spark, tmp_path):
    gen, cur, reg = tmp_path / "gen", tmp_path / "cur", tmp_path / "reg"
    assert main(["generate", str(SPECS / "pref_pairs.py"), "--out", str(gen), "--cache", str(tmp_path / "cache"),
                 "--partitions", "1"]) == 0
    rows = [r for p in sorted((gen / "data").rglob("*.parquet")) for r in pq.read_table(p).to_pylist()]
    assert rows and all(r["chosen"] != r["rejected"] and r["prompt"] for r in rows)
    assert main(["curate", str(SPECS / "pref_curate.py"), "--input", str(gen), "--out", str(cur)]) == 0
    mix = tmp_path / "mixture.py"
    mix.write_text(
        "from mixtures import Mixture, Source, Stage\n"
        "from dataforge.core.models import embedded_llm_dir\n"
        f"prefs = Source('prefs', path={str(cur)!r}, holdout_docs=0)\n"
        "mixture = Mixture(name='prefs', tokenizer=str(embedded_llm_dir()), seed=0,\n"
        "                  stages=[Stage('dpo', tokens=200, seq_len=128, weights={prefs: 1.0})])\n")
    assert main(["mix", "build", str(mix), "--registry", str(reg)]) == 0
    from mixtures import open_mixture

    [built] = [p for p in reg.iterdir() if p.is_dir() and (p / "manifest.json").is_file()]
    m = open_mixture(built.name, reg)
    stage = m.stage("dpo")
    assert stage.pairs and all(p.chosen_length for p in stage)
    assert {p.doc_id for p in stage} <= {r["id"] for r in rows}
