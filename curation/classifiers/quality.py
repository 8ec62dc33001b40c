"""Apply a trained fastText quality classifier: keep documents scored at or above a threshold."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field, PrivateAttr

from curation.classifiers.train import MODEL_FILE, features
from curation.filters.language import load_fasttext
from curation.steps.base import Doc, RecordStep
from curation.steps.files import fetch_file, pin_file, ship_file
from dataforge.core.errors import ForgeError


class QualityClassifier(RecordStep):
    """Score documents with a classifier from `forge curate train-classifier`; drop low scores.

    The model file's sha256 is pinned in the curated manifest (and checked on every executor); give
    `sha256` in the spec to refuse any other file. Adds `quality_score` to kept records' metadata.

    Args:
        model: the classifier directory (with model.bin and manifest.json) or a fastText .bin file.
        threshold: minimum probability of the positive label to keep a document.
        sha256: expected sha256 of the model file (optional; recorded either way).
    Example:
        QualityClassifier(model="models/quality", threshold=0.5)
    """

    model: str
    threshold: float = Field(0.5, ge=0, le=1)
    sha256: str | None = None
    label: str = "hq"
    _model: Any = PrivateAttr(None)
    _shipped: str = PrivateAttr("")

    def _path(self) -> Path:
        p = Path(self.model)
        return p / MODEL_FILE if p.is_dir() else p

    def prepare(self, spark) -> None:
        path = self._path()
        if not path.is_file():
            raise ForgeError(f"QualityClassifier model {self.model}: no model file; train one with "
                             "`forge curate train-classifier`")
        self.sha256 = pin_file(path, self.sha256, "QualityClassifier model")
        self._shipped = ship_file(spark, path)

    def open(self) -> None:
        if self.sha256 is None:
            self.sha256 = pin_file(self._path(), None, "QualityClassifier model")
        self._model = load_fasttext(fetch_file(self._shipped, self._path(), self.sha256))

    def scores(self, texts: list[str]) -> list[float]:
        if self._model is None:
            self.open()
        labels, probs = self._model.predict([features(t) for t in texts], k=-1)
        want = f"__label__{self.label}"
        return [round(float(dict(zip(lab, p, strict=True)).get(want, 0.0)), 4) for lab, p in zip(labels, probs, strict=True)]

    def judge_batch(self, docs: list[Doc]) -> list[str | None]:
        out: list[str | None] = []
        for d, s in zip(docs, self.scores([d.text for d in docs]), strict=True):
            d.metadata["quality_score"] = s
            out.append(None if s >= self.threshold else "low_quality")
        return out
