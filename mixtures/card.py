"""The dataset card (README.md with YAML front matter) and the target-vs-realized weights chart."""

from __future__ import annotations

import json
from pathlib import Path

from dataforge.core.manifest import Manifest

CHART = "weights.png"


def _y(value) -> str:
    # JSON scalars are valid YAML scalars, so quoting goes through json.dumps.
    return json.dumps(value, ensure_ascii=False)


def front_matter(m: Manifest) -> str:
    x = m.extra
    lines = ["---", f"id: {_y(m.id)}", "kind: mixture", f"pretty_name: {_y(m.config['name'])}",
             f"format_version: {x['format_version']}", f"seed: {m.config['seed']}",
             f"tokenizer: {{name: {_y(x['tokenizer']['name'])}, hash: {_y(x['tokenizer']['hash'])}}}",
             f"total_tokens: {m.counts['tokens']}", "sources:"]
    for name, s in x["sources"].items():
        lines.append(f"  - {{name: {_y(name)}, kind: {s['kind']}, manifest_id: {_y(s['manifest_id'])}, "
                     f"train_tokens: {s['train_tokens']}, epochs: {s['epochs']:.4f}}}")
    lines.append("stages:")
    for st in x["stages"]:
        lines.append(f"  - name: {_y(st['name'])}")
        lines.append(f"    tokens: {st['tokens']}")
        lines.append(f"    seq_len: {st['seq_len']}")
        lines.append(f"    sft: {str(st['sft']).lower()}")
        lines.append("    weights:")
        for name, s in st["sources"].items():
            lines.append(f"      {_y(name)}: {{target: {s['target_weight']:.6f}, realized: {s['realized_weight']:.6f}, "
                         f"tokens: {s['tokens']}, epochs: {s['epochs']:.4f}}}")
    lines += ["tags: [dataforge, mixture, tokenized]", "---", ""]
    return "\n".join(lines)


def card_text(m: Manifest) -> str:
    x = m.extra
    out = [front_matter(m), f"# Mixture `{m.config['name']}`", "",
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
        sft = ", SFT (loss on assistant tokens)" if st["sft"] else ""
        out += ["", f"## Stage `{st['name']}`: {st['tokens']:,} tokens, seq_len {st['seq_len']}{sft}", "",
                "| source | target weight | realized weight | tokens | epochs | documents |",
                "|---|---:|---:|---:|---:|---:|"]
        for name, s in st["sources"].items():
            out.append(f"| {name} | {s['target_weight']:.4f} | {s['realized_weight']:.4f} | {s['tokens']:,} | "
                       f"{s['epochs']:.3f} | {s['docs']:,} |")
    out += ["", f"![target vs realized weights]({CHART})", "",
            "Load it with `mixtures.open_mixture(\"" + m.id + "\")`; every shard's sha256 is checked first.", ""]
    if x.get("quarantined"):
        out.insert(-2, f"{x['quarantined']} record(s) could not be tokenized; see `quarantine/`.\n")
    return "\n".join(out)


def weights_chart(m: Manifest, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    stages = m.extra["stages"]
    fig, axes = plt.subplots(1, len(stages), figsize=(3.2 + 2.6 * len(stages), 3.4), squeeze=False, sharey=True)
    for ax, st in zip(axes[0], stages, strict=True):
        names = list(st["sources"])
        xs = range(len(names))
        ax.bar([x - 0.2 for x in xs], [st["sources"][n]["target_weight"] for n in names], 0.4, label="target")
        ax.bar([x + 0.2 for x in xs], [st["sources"][n]["realized_weight"] for n in names], 0.4, label="realized")
        ax.set_xticks(list(xs), names, rotation=30, ha="right")
        ax.set_title(f"{st['name']} ({st['tokens']:,} tok)", fontsize=9)
    axes[0][0].set_ylabel("weight")
    axes[0][0].legend(fontsize=8)
    fig.suptitle(f"{m.config['name']} {m.id[:12]}: target vs realized weights", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110, metadata={"Software": None})
    plt.close(fig)
    return path


def write_card(root: Path, m: Manifest) -> None:
    (root / "README.md").write_text(card_text(m), encoding="utf-8")
    weights_chart(m, root / CHART)
