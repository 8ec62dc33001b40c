"""The dataset card (README.md with YAML front matter) and its chart of tokens and epochs per source."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dataforge.core import card as core_card
from dataforge.core.card import config, tables_section
from dataforge.core.commit import atomic_write_text
from dataforge.core.manifest import Manifest
from mixtures.format import INDEX_FILE, QUARANTINE_FILE

CHART = "weights.png"


def mixture_configs(root: Path, m: Manifest) -> list[dict[str, Any]]:
    """The mixture's tables: its piece index in training order (default), one config per stage, the
    held-out pieces and the records that could not be tokenized. Token shards are binary, not tables."""
    stages = [f"{st['dir']}/{INDEX_FILE}" for st in m.extra["stages"] if st.get("dir")]
    out = [config("default", stages)] if stages else []
    out += [config(f"stage-{st['name']}", f"{st['dir']}/{INDEX_FILE}") for st in m.extra["stages"] if st.get("dir")]
    held = [f"{v['dir']}/{INDEX_FILE}" for v in m.extra.get("validation", {}).values() if v.get("dir")]
    if held:
        out.append(config("validation", held))
    if (root / QUARANTINE_FILE).is_file():
        out.append(config("quarantine", QUARANTINE_FILE))
    return out


def front_matter_extra(m: Manifest) -> dict[str, Any]:
    """Mixture keys beside the Hub's: id, tokenizer, per source and per stage weights (target/realized)."""
    x = m.extra
    return {
        "id": m.id, "kind": "mixture", "format_version": x["format_version"], "seed": m.config["seed"],
        "tokenizer": {"name": x["tokenizer"]["name"], "hash": x["tokenizer"]["hash"]},
        "total_tokens": m.counts["tokens"],
        "sources": [{"name": name, "kind": s["kind"], "manifest_id": s["manifest_id"],
                     "train_tokens": s["train_tokens"], "epochs": round(s["epochs"], 4)}
                    for name, s in x["sources"].items()],
        "stages": [{"name": st["name"], "tokens": st["tokens"], "seq_len": st["seq_len"], "sft": st["sft"],
                    "weights": {name: {"target": round(s["target_weight"], 6),
                                       "realized": round(s["realized_weight"], 6),
                                       "tokens": s["tokens"], "epochs": round(s["epochs"], 4)}
                                for name, s in st["sources"].items()}}
                   for st in x["stages"]],
    }


def card_body(m: Manifest, configs: list[dict[str, Any]]) -> str:
    x = m.extra
    out = [f"# Mixture `{m.config['name']}`", "",
           f"Mixture version `{m.id}`, tokenized with `{x['tokenizer']['name']}` "
           f"(hash `{x['tokenizer']['hash'][:16]}`), seed {m.config['seed']}, {m.counts['tokens']:,} training tokens "
           f"in {len(x['stages'])} stage(s).", ""]
    if m.config.get("description"):
        out += [m.config["description"], ""]
    out += ["## Sources", "", "| source | kind | manifest id | train tokens | held out | epochs used |",
            "|---|---|---|---:|---:|---:|"]
    for name, s in x["sources"].items():
        out.append(f"| {name} | {s['kind']} | `{s['manifest_id']}` | {s['train_tokens']:,} | "
                   f"{s['holdout_tokens']:,} | {s['epochs']:.3f} |")
    for st in x["stages"]:
        sft = (", preference pairs (DPO; loss on answer tokens)" if st.get("pairs") else
               ", SFT (loss on assistant tokens)" if st["sft"] else "")
        out += ["", f"## Stage `{st['name']}`: {st['tokens']:,} tokens, seq_len {st['seq_len']}{sft}", "",
                "| source | target weight | realized weight | tokens | epochs | documents |",
                "|---|---:|---:|---:|---:|---:|"]
        for name, s in st["sources"].items():
            out.append(f"| {name} | {s['target_weight']:.4f} | {s['realized_weight']:.4f} | {s['tokens']:,} | "
                       f"{s['epochs']:.3f} | {s['docs']:,} |")
    image = f"![tokens per source per stage, epochs per source]({CHART})"
    out += ["", image, "",
            "Load it with `mixtures.open_mixture(\"" + m.id + "\")`; every shard's sha256 is checked first.", "",
            *tables_section(configs)]
    if x.get("quarantined"):
        out.insert(out.index(image) + 2, f"{x['quarantined']} record(s) could not be tokenized; see `quarantine/`.\n")
    return "\n".join(out)


def weights_chart(m: Manifest, path: Path) -> Path:
    """Tokens per source in each stage and each source's epochs over the run (mixtures/charts.py)."""
    from mixtures.charts import composition_chart

    return composition_chart(m.extra["stages"], m.extra["sources"], path,
                             f"{m.config['name']} {m.id[:12]}: {m.counts['tokens']:,} tokens")


def card_text(root: Path, m: Manifest) -> str:
    configs = mixture_configs(root, m)
    return core_card.card_text(m, configs, body=card_body(m, configs), records=m.counts["pieces"],
                               task_categories=["text-generation"], tags=["tokenized"],
                               extra=front_matter_extra(m))


def write_card(root: Path, m: Manifest) -> None:
    atomic_write_text(root / core_card.CARD, card_text(root, m))
    weights_chart(m, root / CHART)
