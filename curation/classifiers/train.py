"""Train a fastText quality classifier from positive and negative example files (DCLM style).

    forge curate train-classifier --positive good.jsonl --negative web.jsonl --out models/quality

Why the explicit initial vectors: the fastText build in use (fasttext-numpy2 0.10.4) allocates the
input matrix with `posix_memalign`, which does not zero memory, and `DenseMatrix::uniform` only fills
`thread` tenths of it. With fewer than 10 threads (the Python default is cpu_count - 1) training
reads uninitialized memory and fails with "Encountered NaN" (or, worse, silently learns from
garbage). We therefore give every input row its own seeded initial vector through
`pretrainedVectors` (the same uniform(-1/dim, 1/dim) law fastText uses), with word bigrams spelled
out as tokens so there are no hashed bucket rows left uninitialized. With one thread this is also
deterministic: the same examples and seed give a byte-identical model file.
"""

from __future__ import annotations

import json
import random
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from curation.text import words
from dataforge.core.card import write_card
from dataforge.core.errors import ForgeError
from dataforge.core.hashing import sha256_file
from dataforge.core.manifest import Manifest
from dataforge.core.outputs import Claim, claim_output
from dataforge.core.records import from_arrow_form

MODEL_FILE = "model.bin"
LABELS_FILE = "labels.jsonl"  # per label: examples read, trained on, held out
EOS = "</s>"  # fastText appends this token to every line; it needs a vector like any word


def features(text: str, max_words: int = 2000) -> str:
    """The token string the classifier sees: lowercased words and their bigrams (as `a_b`)."""
    toks = words(text)[:max_words]
    return " ".join(toks + [f"{a}_{b}" for a, b in zip(toks, toks[1:], strict=False)])


def _judged(obj: dict, text_field: str) -> str | None:
    """The text a step would judge the record by (the record contract's `judged_text`), or None."""
    from dataforge.core.records import RecordError, judged_text, parse_body

    try:
        kind, body, _ = parse_body(obj, text_field)
    except RecordError:
        return None
    return judged_text(kind, body)


def read_examples(path: str | Path, text_field: str = "text") -> list[str]:
    """Texts from JSONL or Parquet records of any kind (their `judged_text`), or plain text (one per line)."""
    path = Path(path)
    if not path.exists():
        raise ForgeError(f"{path}: no such example file")
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    texts: list[str] = []
    for f in files:
        if f.suffix == ".parquet":
            import pyarrow.parquet as pq

            table = pq.read_table(f)
            texts += [t for row in table.to_pylist() if (t := _judged(from_arrow_form(row), text_field))]
        elif f.suffix in (".jsonl", ".json"):
            for n, line in enumerate(f.read_text("utf-8", errors="replace").splitlines(), 1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except ValueError:
                    raise ForgeError(f"{f}:{n}: not JSON; example files are JSONL, Parquet or plain text") from None
                t = _judged(obj, text_field) if isinstance(obj, dict) else None
                if t:
                    texts.append(t)
        elif f.suffix in (".txt", ""):
            texts += [ln for ln in f.read_text("utf-8", errors="replace").splitlines() if ln.strip()]
    texts = [t for t in texts if t.strip()]
    if not texts:
        raise ForgeError(f"{path}: no example texts found (field {text_field!r})")
    return texts


def _write_init_vectors(path: Path, vocab: list[str], dim: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    vecs = rng.uniform(-1.0 / dim, 1.0 / dim, size=(len(vocab), dim))
    with open(path, "w", encoding="utf-8") as f:
        f.write(f"{len(vocab)} {dim}\n")
        for w, v in zip(vocab, vecs, strict=True):
            f.write(w + " " + " ".join(f"{x:.6f}" for x in v) + "\n")


def train_classifier(positive: list[str | Path], negative: list[str | Path], out: str | Path, *,
                     text_field: str = "text", dim: int = 64, epoch: int = 10, lr: float = 0.5,
                     min_count: int = 1, seed: int = 0, validation: float = 0.1, overwrite: bool = False) -> Manifest:
    """Train, validate on a held-out split, and commit `out/model.bin` with a `classifier` manifest.

    `out` may hold only a classifier: the same result is a no-op, another one needs `overwrite`."""
    config = {"positive": [str(p) for p in positive], "negative": [str(p) for p in negative],
              "text_field": text_field, "dim": dim, "epoch": epoch, "lr": lr, "min_count": min_count,
              "seed": seed, "validation": validation, "labels": {"positive": "hq", "negative": "lq"}}
    with claim_output(out, "classifier", verb="curate train-classifier", overwrite=overwrite,
                      inputs=[*positive, *negative], config=config) as claim:
        return _train(claim, config, positive, negative, text_field, dim, epoch, lr, min_count, seed, validation)


def _train(claim: Claim, config: dict[str, Any], positive: list[str | Path], negative: list[str | Path],
           text_field: str, dim: int, epoch: int, lr: float, min_count: int, seed: int, validation: float
           ) -> Manifest:
    import fasttext

    pos = [t for p in positive for t in read_examples(p, text_field)]
    neg = [t for p in negative for t in read_examples(p, text_field)]
    rows = [("hq", features(t)) for t in pos] + [("lq", features(t)) for t in neg]
    rows = [r for r in rows if r[1]]
    rng = random.Random(seed)
    rng.shuffle(rows)
    n_val = int(len(rows) * validation) if len(rows) >= 20 else 0
    val, train = rows[:n_val], rows[n_val:]
    counts = Counter(tok for _, f in train for tok in f.split())
    vocab = sorted(w for w, c in counts.items() if c >= min_count) + [EOS]
    with claim.atomic_dir() as tmp, tempfile.TemporaryDirectory() as work:
        work = Path(work)
        (work / "train.txt").write_text("".join(f"__label__{lab} {f}\n" for lab, f in train), "utf-8")
        _write_init_vectors(work / "init.vec", vocab, dim, seed)
        model = fasttext.train_supervised(
            str(work / "train.txt"), dim=dim, epoch=epoch, lr=lr, minCount=min_count, wordNgrams=1, minn=0,
            maxn=0, bucket=0, thread=1, seed=seed, loss="softmax", verbose=0,
            pretrainedVectors=str(work / "init.vec"))
        model.save_model(str(tmp / MODEL_FILE))
        metrics: dict[str, Any] = {}
        if val:
            (work / "val.txt").write_text("".join(f"__label__{lab} {f}\n" for lab, f in val), "utf-8")
            n, p_at_1, _ = model.test(str(work / "val.txt"))
            metrics = {"examples": n, "accuracy": round(float(p_at_1), 4)}
        # one row per label: the folder's record table (its card's default config for `load_dataset`)
        labels = [{"label": lab, "examples": role, "read": n, "train": sum(r[0] == lab for r in train),
                   "validation": sum(r[0] == lab for r in val)}
                  for lab, role, n in (("hq", "positive", len(pos)), ("lq", "negative", len(neg)))]
        (tmp / LABELS_FILE).write_text("".join(json.dumps(r) + "\n" for r in labels), "utf-8")
        manifest = Manifest.build(tmp, "classifier", config,
                                  counts={"positive": len(pos), "negative": len(neg), "train": len(train),
                                          "validation": len(val), "vocabulary": len(vocab)},
                                  extra={"model": MODEL_FILE, "sha256": sha256_file(tmp / MODEL_FILE),
                                         "validation": metrics})
        write_card(tmp, manifest, intro=[f"A fastText quality classifier: `{MODEL_FILE}` (labels hq, lq)."])
        manifest.write(tmp)
    return manifest
