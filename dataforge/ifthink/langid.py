"""Language identification with the packaged fastText lid.176 model (offline, loaded once per process)."""

from __future__ import annotations

import re
import threading

from dataforge.core.models import lid176_path

# Languages the sampler asks for, by ISO 639-1 code (all are lid.176 labels). Users may check any
# lid.176 code; these are the ones with enough web text that a request for them is reasonable.
LANGUAGES = {
    "ar": "Arabic", "bg": "Bulgarian", "bn": "Bengali", "de": "German", "es": "Spanish", "fa": "Persian",
    "fi": "Finnish", "fr": "French", "gu": "Gujarati", "he": "Hebrew", "hi": "Hindi", "it": "Italian",
    "ja": "Japanese", "kn": "Kannada", "ko": "Korean", "mr": "Marathi", "ml": "Malayalam", "ne": "Nepali",
    "nl": "Dutch", "pa": "Punjabi", "pl": "Polish", "pt": "Portuguese", "ru": "Russian", "sw": "Swahili",
    "ta": "Tamil", "te": "Telugu", "th": "Thai", "tr": "Turkish", "uk": "Ukrainian", "ur": "Urdu",
    "vi": "Vietnamese", "zh": "Chinese", "en": "English",
}
_LOCK = threading.Lock()
_MODEL = None
_HAS_LETTER = re.compile(r"[^\W\d_]")


def _model():
    global _MODEL
    if _MODEL is None:
        with _LOCK:
            if _MODEL is None:
                import fasttext

                _MODEL = fasttext.load_model(str(lid176_path()))
    return _MODEL


def detect(text: str) -> str | None:
    """The ISO code of the most likely language, or None for text with no letters (nothing to judge).

    Example:
        detect("Le chat dort sur le canapé.")  # 'fr'
    """
    if not _HAS_LETTER.search(text):
        return None
    # fastText predicts one line at a time; its n-gram features were learned on natural casing, so
    # an all-caps text is judged in lowercase (case has its own checks).
    line = " ".join(text.split())
    if line.isupper():
        line = line.lower()
    labels, _ = _model().predict(line, k=1)
    return labels[0].removeprefix("__label__")
