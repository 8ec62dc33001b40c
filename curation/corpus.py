"""The demo web corpus: ordinary prose plus the usual web mess, built deterministically from a seed.

`make_web_corpus(seed)` composes about 180 documents: clean English prose on a dozen everyday topics
(which passes the Gopher, C4 and FineWeb rules), exact duplicates (some differing only in case and
spacing), near-duplicates (a word or two changed), and junk: navigation boilerplate, lines of symbols,
very short pages, repeated lines and spans, lorem ipsum, code, and pages in other languages. Each
record says in `metadata.kind` what it was made as, so tests can check what a pipeline removed.
The shipped `curation/data/web_demo.jsonl` is `make_web_corpus(0)`.

    python -m curation.corpus > curation/data/web_demo.jsonl
"""

from __future__ import annotations

import json
import random
import re
import sys
from pathlib import Path

from curation.corpus_text import DAYS, FOREIGN, MONTHS, NAMES, TOPICS, TOWNS

DATA_DIR = Path(__file__).parent / "data"
_CHOICE = re.compile(r"\[([^\[\]]+)\]")


def web_demo_path() -> Path:
    """The shipped demo corpus (`make_web_corpus(0)` as JSONL)."""
    return DATA_DIR / "web_demo.jsonl"


def _fill(template: str, rng: random.Random) -> str:
    s = _CHOICE.sub(lambda m: rng.choice(m.group(1).split("|")), template)
    return s.format(name=rng.choice(NAMES), town=rng.choice(TOWNS), month=rng.choice(MONTHS),
                    day=rng.choice(DAYS), n=rng.choice([3, 7, 12, 15, 20, 25, 30, 40, 60, 120]))


def _article(topic: str, rng: random.Random) -> str:
    sentences = [_fill(t, rng) for t in rng.sample(TOPICS[topic], 8)]
    cuts = sorted(rng.sample(range(2, 7), 2))
    paras = [sentences[: cuts[0]], sentences[cuts[0]: cuts[1]], sentences[cuts[1]:]]
    return "\n".join(" ".join(p) for p in paras)


def _foreign(lang: str, rng: random.Random) -> str:
    sentences = [_fill(t, rng) for t in rng.sample(FOREIGN[lang], 5)]
    return " ".join(sentences[:3]) + "\n" + " ".join(sentences[3:])


def _near_copy(text: str, rng: random.Random) -> str:
    """Change one or two words: Jaccard similarity of 5-word shingles stays well above 0.8."""
    words = text.split(" ")
    swaps = {"the": "this", "and": "while", "a": "one", "is": "was", "of": "from", "to": "towards"}
    spots = [i for i, w in enumerate(words) if w in swaps]
    for i in rng.sample(spots, min(len(spots), rng.choice([1, 2]))):
        words[i] = swaps[words[i]]
    return " ".join(words)


def _junk(rng: random.Random) -> list[tuple[str, str]]:
    town = rng.choice(TOWNS)
    junk = [
        ("boilerplate", f"Home | About us | Contact\nSign in\nCookie policy\nTerms of use\nPrivacy policy\n"
                        f"(c) {town} Online. All rights reserved"),
        ("boilerplate", "Menu\nShop\nCart (0)\nMy account\nNewsletter\nFollow us\nBack to top"),
        ("boilerplate", f"Skip to content\n{town} Events\nCalendar\nTickets\nFAQ\nJobs\nPress\nSitemap"),
        ("boilerplate", "This website uses cookies to improve your experience. Accept all\nReject\nSettings"),
        ("symbols", "\n".join(["* * * * * * * *", "# # # # # # # #", "-> -> -> -> ->", "~ ~ ~ ~ ~ ~"] * 4)),
        ("symbols", "\n".join(["### ### ###", "!!! !!! !!!", "... ... ...", "+++ +++ +++"] * 5)),
        ("symbols", " ".join(["$$$", "%%%", "&&&", "@@@", "###"] * 30)),
        ("short", "Click here to continue."),
        ("short", "Page not found."),
        ("short", "Loading..."),
        ("short", "Thanks for subscribing!"),
        ("short", f"Welcome to {town}."),
        ("repeated_lines", "\n".join([f"Cheap flights to {town} available today."] * 40)),
        ("repeated_lines", "\n".join(["Limited offer, order your free sample now."] * 36)),
        ("repeated_span", "Best prices online. " + "buy now buy now " * 40 + "Visit our store for details."),
        ("repeated_span", "We sell quality watches. " + "cheap watch sale " * 48 + "Thank you for reading."),
        ("lorem_ipsum", "Lorem ipsum dolor sit amet, consectetur adipiscing elit. Sed do eiusmod tempor "
                        "incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud "
                        "exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat. Duis aute irure "
                        "dolor in reprehenderit in voluptate velit esse cillum dolore eu fugiat nulla pariatur."),
        ("code", "function init() {\n  var menu = document.getElementById('menu');\n  menu.addEventListener("
                 "'click', toggle);\n}\nfunction toggle() {\n  menu.classList.toggle('open');\n}"),
        ("code", "for (let i = 0; i < items.length; i++) {\n  if (items[i].price > 10) {\n    total += "
                 "items[i].price;\n  }\n}\nconsole.log(total);"),
    ]
    return junk


def make_web_corpus(seed: int = 0) -> list[dict]:
    """About 180 web-like documents (dicts with `text`, `source`, `metadata`, most with an `id`)."""
    rng = random.Random(seed)
    docs: list[dict] = []
    topics = sorted(TOPICS)
    for i in range(120):
        topic = topics[i % len(topics)]
        docs.append({"text": _article(topic, rng), "kind": "clean", "topic": topic})
    base = list(docs)
    for j, d in enumerate(rng.sample(base, 12)):
        text = d["text"]
        if j % 3 == 2:  # differs only in case and spacing: still an exact duplicate after normalization
            text = "  " + text.replace(". ", ".  ", 2).upper() + "\n"
        docs.append({"text": text, "kind": "exact_dup", "topic": d["topic"], "of": base.index(d)})
    for d in rng.sample(base, 12):
        docs.append({"text": _near_copy(d["text"], rng), "kind": "near_dup", "topic": d["topic"], "of": base.index(d)})
    # Pages that look clean to Gopher but not to C4 or FineWeb, so every filter has work to do.
    for topic in rng.sample(topics, 2):
        three = " ".join(_fill(t, rng) for t in rng.sample(TOPICS[topic], 3))
        docs.append({"text": three, "kind": "few_sentences", "topic": topic})
    for topic in rng.sample(topics, 2):
        docs.append({"text": _article(topic, rng) + "\nUse the {search} box to find more articles like this one.",
                     "kind": "template_code", "topic": topic})
    for topic in rng.sample(topics, 2):
        text = _article(topic, rng)
        docs.append({"text": text + "\n" + text.split("\n")[0], "kind": "dup_paragraph", "topic": topic})
    for lang in sorted(FOREIGN):
        for _ in range(2):
            docs.append({"text": _foreign(lang, rng), "kind": "foreign", "topic": lang})
    for kind, text in _junk(rng):
        docs.append({"text": text, "kind": kind, "topic": "junk"})
    order = list(range(len(docs)))
    rng.shuffle(order)
    out = []
    for n, k in enumerate(order):
        d = docs[k]
        meta = {"kind": d["kind"], "topic": d["topic"], "url": f"https://example.org/{d['topic']}/{k:04d}"}
        if "of" in d:
            meta["copy_of"] = f"web-{d['of']:04d}"
        rec = {"text": d["text"], "source": "web-demo", "metadata": meta}
        if n % 4 != 3:  # most pages carry an id; the rest get a content hash
            rec = {"id": f"web-{k:04d}", **rec}
        out.append(rec)
    return out


def write_jsonl(records: list[dict], path: str | Path) -> Path:
    path = Path(path)
    path.write_text("".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in records), "utf-8")
    return path


if __name__ == "__main__":
    for rec in make_web_corpus(int(sys.argv[1]) if len(sys.argv) > 1 else 0):
        sys.stdout.write(json.dumps(rec, ensure_ascii=False, sort_keys=True) + "\n")
