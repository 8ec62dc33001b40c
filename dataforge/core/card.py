"""`README.md`: the dataset card every output folder carries, in the Hugging Face Hub's format.

The YAML front matter follows the Hub's dataset-card metadata: `configs` (one per table in the folder,
each a `data_files` glob for the `train` split, the kept records as `default`), `license`, `language`,
`size_categories`, `task_categories`, `tags`, `pretty_name`. So `datasets.load_dataset(DIR)` loads the
kept records and `load_dataset(DIR, "dropped")` (`quarantine`, `ledger`, ...) the other tables, offline.
The markdown body is a lineage summary: manifest id, parents, config, counts and how to load each table.

Cards are derived from the manifest and the files, are not hashed into ids (see `manifest._is_hashed`),
and go through `redact` like everything else that is written.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import yaml

from dataforge.core.commit import atomic_write_text
from dataforge.core.manifest import Manifest
from dataforge.core.secrets import redact, redact_text

CARD = "README.md"
UNKNOWN_LICENSE = "unknown"  # a Hub license id: "the license is not known" (the spec named none)
# The Hub's size buckets: (exclusive upper bound, label).
SIZE_BUCKETS = [(10**3, "n<1K"), (10**4, "1K<n<10K"), (10**5, "10K<n<100K"), (10**6, "100K<n<1M"),
                (10**7, "1M<n<10M"), (10**8, "10M<n<100M"), (10**9, "100M<n<1B"), (10**10, "1B<n<10B"),
                (10**11, "10B<n<100B"), (10**12, "100B<n<1T")]
# Tables of each kind of folder, by config name: the folder holding the table's Parquet files.
# The first one present is the default config (the kept records).
PARQUET_TABLES = {
    "generated": {"default": "data", "dropped": "dropped", "quarantine": "quarantine", "calls": "calls"},
    "curated": {"default": "data", "dropped": "dropped", "quarantine": "quarantine", "ledger": "ledger"},
    "corpus": {"default": "data"},
}
CONFIG_NOTES = {"default": "the kept records", "dropped": "records a filter, judge or dedup step dropped",
                "quarantine": "records or files that could not be processed, with the reason",
                "ledger": "one row per input record: its decision and reason", "calls": "every LLM call",
                "chat": "the kept chat records", "validation": "held-out pieces",
                "metrics": "one row per logged training step"}
KIND_NOTES = {"run": "one row per logged training step (`metrics.jsonl`)",
              "classifier": "one row per label: examples read, trained on, held out (`labels.jsonl`)"}


def size_category(n: int) -> str:
    """The Hub's `size_categories` label for `n` rows (`n<1K`, `1K<n<10K`, ...)."""
    for bound, label in SIZE_BUCKETS:
        if n < bound:
            return label
    return "n>1T"


def config(name: str, paths: str | Sequence[str], split: str = "train") -> dict[str, Any]:
    """One entry of the front matter's `configs`: `paths` are globs relative to the folder."""
    return {"config_name": name, "data_files": [{"split": split, "path": paths if isinstance(paths, str)
                                                 else list(paths)}]}


def _has(root: Path, rel: str, pattern: str = "*.parquet") -> bool:
    return (root / rel).is_dir() and any((root / rel).glob(pattern))


def parquet_configs(root: Path, tables: dict[str, str]) -> list[dict[str, Any]]:
    """A config per table whose folder holds Parquet files (a record dataset's layout)."""
    from dataforge.core.records import LAYOUTS

    out = []
    for name, rel in tables.items():
        layouts = [lay for lay in LAYOUTS if _has(root, f"{rel}/{lay}")]
        if name == "default" and not _has(root, rel) and layouts:
            # several record layouts: one schema each, side by side (curation/ledger.py); the first
            # in LAYOUTS order (text before chat before preference ...) is the default
            for i, lay in enumerate(layouts):
                out.append(config("default" if i == 0 else lay, f"{rel}/{lay}/*.parquet"))
        elif _has(root, rel):
            out.append(config(name, f"{rel}/*.parquet"))
    return out


def _languages(obj: Any) -> list[str]:
    """Languages a language filter kept, found anywhere in a config (`languages: [...]`)."""
    found: list[str] = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k == "languages" and isinstance(v, list) and all(isinstance(x, str) for x in v):
                found += v
            else:
                found += _languages(v)
    elif isinstance(obj, list):
        for v in obj:
            found += _languages(v)
    return sorted(set(found))


def metadata(m: Manifest, configs: list[dict[str, Any]], *, records: int | None = None,
             task_categories: Iterable[str] = (), tags: Iterable[str] = (),
             extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The front matter as a dict: standard Hub keys first, then `extra` (layer-specific keys)."""
    cfg = m.config if isinstance(m.config, dict) else {}
    meta: dict[str, Any] = {"pretty_name": str(cfg.get("name") or f"{m.kind} {m.id[:12]}"),
                            "license": str(cfg.get("license") or UNKNOWN_LICENSE)}
    langs = cfg.get("language") or _languages(cfg)
    if langs:
        meta["language"] = [langs] if isinstance(langs, str) else list(langs)
    if records is not None:
        meta["size_categories"] = [size_category(records)]
    if task_categories:
        meta["task_categories"] = list(task_categories)
    meta["tags"] = list(dict.fromkeys(["dataforge", m.kind, *tags]))
    meta["configs"] = configs
    meta.update(extra or {})
    return redact(meta)


def front_matter(meta: dict[str, Any]) -> str:
    return "---\n" + yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, width=1000) + "---\n"


def tables_section(configs: list[dict[str, Any]], kind: str = "") -> list[str]:
    """Markdown lines: the folder's tables (configs) and how to load each with `datasets`."""
    out = ["## Tables", ""]
    if not configs:
        return [*out, "This folder holds no record table; `datasets.load_dataset` has nothing to load here.", ""]
    out += ["| config | files | what |", "|---|---|---|"]
    for c in configs:
        paths = [p for d in c["data_files"] for p in ([d["path"]] if isinstance(d["path"], str) else d["path"])]
        shown = ", ".join(f"`{p}`" for p in paths)
        note = CONFIG_NOTES.get(c["config_name"], "")
        if kind in KIND_NOTES and c["config_name"] == "default":
            note = KIND_NOTES[kind]
        out.append(f"| `{c['config_name']}` | {shown} | {note} |")
    out += ["", "```python", "from datasets import load_dataset", "",
            "ds = load_dataset(\"path/to/this/folder\")  # the default config"]
    out += [f"ds = load_dataset(\"path/to/this/folder\", \"{c['config_name']}\")"
            for c in configs if c["config_name"] != "default"]
    return [*out, "```", ""]


def lineage_body(m: Manifest, configs: list[dict[str, Any]], title: str, intro: Sequence[str] = ()) -> str:
    """The markdown body: what the folder is, its lineage, counts, and how to load each table."""
    out = [f"# {title}", "", f"`{m.kind}` output `{m.id}`, written by DataForge {m.code_version}.", "", *intro]
    if intro:
        out.append("")
    out += ["## Lineage", "", f"- manifest id: `{m.id}`",
            "- parents: " + (", ".join(f"`{p}`" for p in m.parents) if m.parents else "none"), ""]
    if m.counts:
        out += ["## Counts", "", "| count | value |", "|---|---:|"]
        out += [f"| {k} | {json.dumps(v) if isinstance(v, dict | list) else v} |" for k, v in m.counts.items()]
        out.append("")
    out += tables_section(configs, m.kind)
    config_json = json.dumps(redact(m.config), indent=2, sort_keys=True, ensure_ascii=False)
    out += ["## Config", "", "<details><summary>the producing config (secrets redacted)</summary>", "",
            "```json", config_json, "```", "", "</details>", ""]
    return redact_text("\n".join(out))


def card_text(m: Manifest, configs: list[dict[str, Any]], *, title: str | None = None,
              intro: Sequence[str] = (), body: str | None = None, **meta_kw: Any) -> str:
    """The whole card: front matter, then `body` (default: the lineage summary)."""
    meta = metadata(m, configs, **meta_kw)
    text = redact_text(body) if body is not None else lineage_body(m, configs, title or meta["pretty_name"], intro)
    return front_matter(meta) + "\n" + text.rstrip("\n") + "\n"


def _records(m: Manifest) -> int | None:
    for key in ("records", "kept", "walks", "steps"):
        if isinstance(m.counts.get(key), int) and not isinstance(m.counts.get(key), bool):
            return int(m.counts[key])
    return None


def _record_kinds(m: Manifest) -> list[str]:
    """text and/or chat: a generated output names its layout, a curated one counts records by kind."""
    if m.kind not in {"generated", "curated", "corpus"}:
        return []
    if m.extra.get("record_kind"):
        return [str(m.extra["record_kind"])]
    by_kind = m.counts.get("by_kind") or {}
    return sorted(str(k) for k in by_kind) if isinstance(by_kind, dict) else []


def default_configs(root: Path, m: Manifest) -> list[dict[str, Any]]:
    """The tables of a generated, curated, corpus, run or classifier folder (mixtures pass their own)."""
    if m.kind in PARQUET_TABLES:
        return parquet_configs(root, PARQUET_TABLES[m.kind])
    if m.kind == "run" and (root / "metrics.jsonl").is_file():
        return [config("default", "metrics.jsonl")]
    if m.kind == "classifier" and (root / "labels.jsonl").is_file():
        return [config("default", "labels.jsonl")]
    return []


def write_card(root: str | Path, m: Manifest, **kw: Any) -> Path:
    """Write `root/README.md` for the output whose manifest is `m` (before `m` is written: last).

    Keyword arguments go to `card_text` (`configs`, `title`, `intro`, `body`, `task_categories`,
    `tags`, `extra`, `records`); by default they are derived from the folder and the manifest.
    """
    root = Path(root)
    configs = kw.pop("configs", None)
    configs = default_configs(root, m) if configs is None else configs
    kw.setdefault("records", _records(m))
    kinds = _record_kinds(m)
    if "task_categories" not in kw and kinds:
        kw["task_categories"] = ["text-generation"]  # text and chat records are both for LM training
    kw.setdefault("tags", kinds)
    path = root / CARD
    atomic_write_text(path, card_text(m, configs, **kw))
    return path


def read_front_matter(path: str | Path) -> dict[str, Any]:
    """The YAML front matter of a card (what the Hub and `datasets` read)."""
    text = Path(path).read_text("utf-8")
    if not text.startswith("---\n"):
        return {}
    return yaml.safe_load(text[4:text.index("\n---\n", 3)]) or {}
