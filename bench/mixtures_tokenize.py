"""Mixture build benchmark: tokenization throughput vs raw `tokenizers`, and weight accuracy.

    python bench/mixtures_tokenize.py [--mb 8] [--out DIR]

1. Tokenization throughput on one core: the build's tokenization stage (Spark `local[1]`, the same
   `mapInArrow` code and the same counting action a build runs) vs the raw Rust tokenizer's
   `encode_batch` on one thread, over the same documents. Goal: ratio >= 0.8.
2. The largest |target - realized| weight over every stage and source of a 3-source, 2-stage build.
   Goal: <= 0.005.
The corpus is real English and code found on this machine (installed packages' METADATA files and the
Python standard library), repeated to `--mb` megabytes of text. Run it on a quiet machine.
"""

from __future__ import annotations

import os

# One core for both sides: Rayon threads off in the raw baseline and in the executors.
os.environ["TOKENIZERS_PARALLELISM"] = "false"
os.environ["RAYON_NUM_THREADS"] = "1"

import argparse  # noqa: E402
import shutil  # noqa: E402
import sysconfig  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from dataforge.core import Manifest, TextRecord  # noqa: E402
from dataforge.core.io import write_table  # noqa: E402
from dataforge.core.records import TEXT_SCHEMA  # noqa: E402


def _chunks(text: str, size: int = 2500) -> list[str]:
    out, cur = [], []
    n = 0
    for para in text.split("\n\n"):
        cur.append(para)
        n += len(para)
        if n >= size:
            out.append("\n\n".join(cur))
            cur, n = [], 0
    if cur:
        out.append("\n\n".join(cur))
    return [c for c in out if c.strip()]


def corpus(kind: str, mb: float) -> list[str]:
    """Documents of real text: package METADATA (prose + markdown) or stdlib modules (code)."""
    purelib, stdlib = Path(sysconfig.get_paths()["purelib"]), Path(sysconfig.get_paths()["stdlib"])
    files = sorted(purelib.glob("*.dist-info/METADATA")) if kind == "prose" else sorted(stdlib.glob("*.py"))
    docs = []
    for f in files:
        docs += _chunks(f.read_text("utf-8", errors="replace"))
    out, size, rep = [], 0, 0
    while size < mb * 1e6:
        for d in docs:
            text = d if rep == 0 else f"{d}\n\n(copy {rep})"
            out.append(text)
            size += len(text)
            if size >= mb * 1e6:
                break
        rep += 1
    return out


def dataset(root: Path, name: str, texts: list[str]) -> Path:
    rows = [TextRecord(t, id=f"{name}-{i:07d}", source=name).to_row() for i, t in enumerate(texts)]
    for j in range(0, len(rows), 20_000):  # several files, as curated datasets have
        write_table(rows[j:j + 20_000], root / name / "data" / f"part-{j // 20_000:05d}.parquet", TEXT_SCHEMA)
    Manifest.build(root / name, "corpus", {"bench": name}).write(root / name)
    return root / name


def raw_throughput(tok_json: bytes, texts: list[str], batch: int = 1000) -> tuple[int, float]:
    from tokenizers import Tokenizer

    tok = Tokenizer.from_str(tok_json.decode())
    tok.encode_batch(texts[:200], add_special_tokens=False)  # warm-up
    t0 = time.perf_counter()
    n = 0
    for i in range(0, len(texts), batch):
        n += sum(len(e.ids) for e in tok.encode_batch(texts[i:i + batch], add_special_tokens=False))
    return n, time.perf_counter() - t0


def build_throughput(spark, sources: dict, tok) -> tuple[int, float]:
    from mixtures.materialize import collect_docs, tokenize_sources

    tokenized, bc = tokenize_sources(spark, sources, tok, append_eos=False)
    t0 = time.perf_counter()
    docs, _ = collect_docs(tokenized, sources)  # the build's first action: it runs the tokenization
    dt = time.perf_counter() - t0
    tokenized.unpersist()
    bc.unpersist()
    return int(sum(int(d.ntok.sum()) for d in docs.values())), dt


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=float, default=8.0, help="megabytes of text for the throughput run")
    ap.add_argument("--out", type=Path, default=None, help="work dir (default: a temp dir, removed after)")
    a = ap.parse_args()
    from dataforge.core.spark import get_spark
    from mixtures import Mixture, Source, Stage, build_mixture, realized_weight_error
    from mixtures.sources import resolve_source
    from mixtures.tokenizer import load_tokenizer_info

    work = a.out or Path(tempfile.mkdtemp(prefix="forge-bench-mix-"))
    try:
        prose = corpus("prose", a.mb)
        tok = load_tokenizer_info("embedded")
        src = Source("prose", path=str(dataset(work, "prose", prose)))
        warm = Source("warm", path=str(dataset(work, "warm", prose[:300])))
        spark = get_spark("local[1]", app_name="bench-mixtures")
        build_throughput(spark, {"warm": resolve_source(warm)}, tok)  # start the Python worker
        n_build, t_build = build_throughput(spark, {"prose": resolve_source(src)}, tok)
        n_raw, t_raw = raw_throughput(tok.files["tokenizer.json"], prose)
        assert n_build == n_raw, f"token counts differ: build {n_build}, raw {n_raw}"
        ratio = (n_build / t_build) / (n_raw / t_raw)
        print(f"corpus: {len(prose):,} documents, {sum(map(len, prose)) / 1e6:.1f} MB, {n_raw:,} tokens")
        print(f"raw encode_batch, 1 thread : {n_raw / t_raw:12,.0f} tokens/s ({t_raw:.2f} s)")
        print(f"build tokenization, 1 core : {n_build / t_build:12,.0f} tokens/s ({t_build:.2f} s)")
        print(f"throughput ratio build/raw : {ratio:.3f}  (goal >= 0.8)")

        code = corpus("code", a.mb / 4)
        srcs = {"prose": src, "code": Source("code", path=str(dataset(work, "code", code))),
                "small": Source("small", path=str(dataset(work, "small", prose[:400])), max_epochs=8)}
        mixture = Mixture(name="bench", tokenizer="embedded", seed=3, stages=[
            Stage("stable", tokens=n_raw // 2, seq_len=2048,
                  weights={srcs["prose"]: 0.73, srcs["code"]: 0.2, srcs["small"]: 0.07}),
            Stage("decay", tokens=n_raw // 8, seq_len=4096,
                  weights={srcs["prose"]: 0.5, srcs["code"]: 0.35, srcs["small"]: 0.15})])
        t0 = time.perf_counter()
        result = build_mixture(mixture, work / "registry", spark=spark)
        t_full = time.perf_counter() - t0
        manifest = Manifest.read(result.path)
        err = realized_weight_error(manifest)
        print(f"full build                 : {manifest.counts['tokens']:,} tokens in {t_full:.1f} s "
              f"({len(manifest.files)} files, id {result.id})")
        for st in manifest.extra["stages"]:
            cells = ", ".join(f"{n} {s['target_weight']:.4f}->{s['realized_weight']:.4f}"
                              for n, s in st["sources"].items())
            print(f"  stage {st['name']}: {cells}")
        print(f"largest |target - realized| weight: {err:.6f}  (goal <= 0.005)")
        ok = ratio >= 0.8 and err <= 0.005
        print("both goals met" if ok else "a goal is NOT met")
    finally:
        if a.out is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
