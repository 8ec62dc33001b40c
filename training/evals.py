"""Generation-based evaluations on held-out prompt sets, run with the validation loss.

    GenEval(name="ifeval", kind="ifeval", prompts="evals/ifeval.jsonl", max_prompts=64)
    GenEval(name="gsm", kind="math", prompts="evals/gsm.jsonl", verifier="mypkg.verify:equal")

A prompt set is JSONL. `ifeval`: IFEval's own lines (`prompt`, `instruction_id_list`, `kwargs`),
scored as the prompt-level strict pass rate with `dataforge.ifthink.check` (think blocks removed).
`math`: `prompt` and `answer`, scored by a verifier `(completion, answer) -> bool`, exact match of
the final answer by default. Greedy generation with vLLM when installed on GPU, else transformers;
the score (0..1) goes to metrics.jsonl under `evals`, the plot, TensorBoard and the run card.
"""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field, field_serializer, field_validator

from dataforge.core.errors import ForgeError
from dataforge.core.spec import check_name
from training.specbase import _Spec

Verifier = Callable[[str, str], bool]


class GenEval(_Spec):
    """One held-out prompt set and how to score it.

    Args:
        name: the metric's name (`evals/<name>` in metrics.jsonl and TensorBoard).
        kind: `ifeval` or `math`.
        prompts: the JSONL file (relative paths: from the working directory).
        max_prompts: prompts used per evaluation (the first ones, in file order).
        max_new_tokens: generation budget per prompt.
        chat_template: wrap each prompt as a user turn with the tokenizer's chat template (if it has one).
        backend: `auto` (vLLM when installed and training on GPU, else transformers), `transformers`, `vllm`.
        verifier: `math` only: a callable `(completion, answer) -> bool` or its import path
            `"module:function"` (default: `exact_match`).
    Example:
        GenEval(name="ifeval", kind="ifeval", prompts="evals/ifeval.jsonl")
    """

    name: str
    kind: Literal["ifeval", "math"]
    prompts: str
    max_prompts: int = Field(32, ge=1)
    max_new_tokens: int = Field(128, ge=1, le=32768)
    chat_template: bool = True
    backend: Literal["auto", "transformers", "vllm"] = "auto"
    verifier: Verifier | str | None = None
    WHERE: ClassVar[str] = "run.evals"

    @field_validator("name")
    @classmethod
    def _safe_name(cls, v: str) -> str:
        return check_name(v, "eval name")

    @field_validator("verifier")
    @classmethod
    def _import_path(cls, v: Any) -> Any:
        if isinstance(v, str) and not re.fullmatch(r"[\w.]+:[\w.]+", v):
            raise ValueError(f"give a callable or an import path 'module:function' (got {v!r})")
        return v

    @field_serializer("verifier")
    def _verifier_name(self, v: Any) -> str | None:
        return v if v is None or isinstance(v, str) else f"{v.__module__}:{v.__qualname__}"


def final_answer(text: str) -> str:
    """The last `\\boxed{...}`, else what follows the last `####` or `answer:`, else the last line."""
    boxed = re.findall(r"\\boxed\{([^{}]*)\}", text)
    if boxed:
        return boxed[-1]
    for marker in ("####", "answer:"):
        at = text.lower().rfind(marker)
        if at >= 0:
            return text[at + len(marker):]
    lines = [x for x in text.strip().splitlines() if x.strip()]
    return lines[-1] if lines else ""


def _normal(s: str) -> str:
    s = s.strip().strip("$").strip().rstrip(".").lower()
    s = re.sub(r"(?<=\d),(?=\d{3}\b)", "", s)  # 1,000 -> 1000
    return " ".join(s.split())


def exact_match(completion: str, answer: str) -> bool:
    """The completion's final answer equals `answer` after trimming case, `$`, a final `.`, commas in numbers."""
    return _normal(final_answer(completion)) == _normal(str(answer))


def resolve_verifier(spec: GenEval) -> Verifier:
    v = spec.verifier
    if v is None:
        return exact_match
    if callable(v):
        return v
    module, _, attr = v.partition(":")
    try:
        obj: Any = importlib.import_module(module)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as e:
        raise ForgeError(f"run.evals {spec.name!r}: verifier {v!r} cannot be imported ({e})") from None
    if not callable(obj):
        raise ForgeError(f"run.evals {spec.name!r}: verifier {v!r} is not callable")
    return obj


def load_prompts(spec: GenEval) -> list[dict[str, Any]]:
    """The set's first `max_prompts` lines, checked; a bad line is refused naming file and line."""
    from dataforge.ifthink.base import get

    path = Path(spec.prompts).expanduser()
    if not path.is_file():
        raise ForgeError(f"run.evals {spec.name!r}: prompts file {spec.prompts!r} does not exist")
    out: list[dict[str, Any]] = []
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, start=1):
            if len(out) >= spec.max_prompts:
                break
            if not line.strip():
                continue
            where = f"{path}:{n}"
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise ForgeError(f"{where}: not a JSON line ({e.msg})") from None
            if not isinstance(row, dict) or not isinstance(row.get("prompt"), str):
                raise ForgeError(f"{where}: needs a string `prompt`")
            if spec.kind == "math":
                if "answer" not in row:
                    raise ForgeError(f"{where}: a math prompt needs an `answer`")
                out.append({"prompt": row["prompt"], "answer": str(row["answer"])})
                continue
            ids, kwargs = row.get("instruction_id_list"), row.get("kwargs") or [{}] * len(row.get("instruction_id_list") or [])
            if not isinstance(ids, list) or not ids or len(kwargs) != len(ids):
                raise ForgeError(f"{where}: an ifeval prompt needs `instruction_id_list` and one `kwargs` per id")
            try:
                checks = [(i, get(i).validate(k)) for i, k in zip(ids, kwargs, strict=True)]
            except ForgeError as e:
                raise ForgeError(f"{where}: {e}") from None
            out.append({"prompt": row["prompt"], "checks": checks})
    if not out:
        raise ForgeError(f"run.evals {spec.name!r}: prompts file {spec.prompts!r} holds no prompt")
    return out


def score(spec: GenEval, item: dict[str, Any], completion: str, verifier: Verifier) -> bool:
    if spec.kind == "math":
        return bool(verifier(completion, item["answer"]))
    from dataforge.ifthink import answer_of, check

    answer = answer_of(completion)
    return all(check(i, k, answer) for i, k in item["checks"])


def run_evals(trainer) -> dict[str, float]:
    """Every `run.evals` set on the current weights (all ranks take part); the pass rate of each."""
    from training.distributed import all_sum
    from training.generate import generate

    w, out = trainer.world, {}
    for spec in trainer.run.evals:
        items = trainer.eval_sets[spec.name]
        done = generate(trainer, spec, [x["prompt"] for x in items])  # this rank's share, by index
        verifier = resolve_verifier(spec)
        passed = sum(score(spec, items[i], text, verifier) for i, text in done.items())
        total_pass, total = all_sum([float(passed), float(len(done))], w.device)
        out[spec.name] = total_pass / total if total else 0.0
    return out


def last_scores(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The last score of each generation eval, with its step and stage (for the run card)."""
    out: dict[str, dict[str, Any]] = {}
    for r in records:
        for name, value in (r.get("evals") or {}).items():
            out[name] = {"step": r["step"], "stage": r["stage"], "score": value}
    return out
