"""Test documents made in code: a long multi-paragraph text with distinct facts in every sentence."""

from __future__ import annotations

RIVERS = ["Amber", "Birch", "Cedar", "Delta", "Elm", "Fjord", "Granite", "Heron", "Iris", "Juniper"]
TOWNS = ["Ashford", "Brookley", "Carrow", "Dunmere", "Eastwick", "Fallow", "Glenhaven", "Harlow"]


def long_document(paragraphs: int = 120) -> str:
    """About 70 tokens a sentence, 4 sentences a paragraph: 120 paragraphs is well past 8192 tokens."""
    out = []
    for p in range(paragraphs):
        river, town = RIVERS[p % len(RIVERS)], TOWNS[p % len(TOWNS)]
        sentences = [
            f"The {river} river, surveyed in {1800 + p}, runs {40 + p} kilometres from the hills above {town} "
            f"to the sea, falling {3 * p + 11} metres along its course.",
            f"Its basin covers {120 + 7 * p} square kilometres, and in wet years the flow at {town} bridge "
            f"reaches {15 + p % 9}.{p % 10} cubic metres per second.",
            f"Records kept by the {town} water board show {p % 5 + 2} floods in the decade after {1900 + p}, "
            f"each one followed by repairs to the old mill race.",
            f"Local schools still teach that the name {river} comes from the trees that once lined "
            f"mile {p % 12 + 1} of the bank.",
        ]
        out.append(" ".join(sentences))
    return "\n\n".join(out)
