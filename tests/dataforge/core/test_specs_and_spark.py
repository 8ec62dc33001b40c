import pytest

from dataforge.core.errors import SpecError
from dataforge.core.io import write_parquet
from dataforge.core.records import TEXT_DDL, TextRecord
from dataforge.core.specs import load_spec


def test_spec_errors_are_one_line_and_name_the_file(tmp_path):
    with pytest.raises(SpecError, match="no such spec file"):
        load_spec(tmp_path / "missing.py", "graph")
    bad = tmp_path / "bad.py"
    bad.write_text("x = 1\ny = undefined_name\n")
    with pytest.raises(SpecError) as e:
        load_spec(bad, "graph")
    assert f"{bad}:2" in str(e.value) and "NameError" in str(e.value) and "\n" not in str(e.value)
    empty = tmp_path / "empty.py"
    empty.write_text("other = 1\n")
    with pytest.raises(SpecError, match="defines no `pipeline`"):
        load_spec(empty, "pipeline")
    with pytest.raises(SpecError, match="is a int, expected a list"):
        load_spec(empty, "other", list)


def test_spec_functions_run_on_executors_without_the_file(spark, tmp_path):
    spec = tmp_path / "spec.py"
    spec.write_text("def shout(s):\n    return s.upper() + '!'\n\nfn = shout\n")
    fn = load_spec(spec, "fn")
    spec.unlink()  # executors must not need the file: the function travels by value
    assert spark.sparkContext.parallelize(["a", "b"], 2).map(fn).collect() == ["A!", "B!"]


def test_spark_parquet_bytes_independent_of_input_partitioning(spark, tmp_path):
    rows = [TextRecord(f"document number {i}", source="s").to_row() for i in range(200)]
    outs = []
    for n in (1, 3, 7):
        df = spark.createDataFrame(rows, TEXT_DDL).repartition(n)
        files = write_parquet(df, tmp_path / f"p{n}", num_files=2)
        outs.append([f.read_bytes() for f in files])
    assert len(outs[0]) == 2
    assert outs[0] == outs[1] == outs[2]


def test_packaged_minilm_embeds_similar_texts_closer():
    from dataforge.core.embeddings import Embedder

    v = Embedder().embed(["A cat sits on the mat.", "A kitten is sitting on a rug.", "Stock prices fell."])
    assert v.shape == (3, 384)
    assert abs(float(v[0] @ v[0]) - 1) < 1e-5
    assert v[0] @ v[1] > v[0] @ v[2] + 0.2
