"""Greedy completions with vLLM for the evaluation hooks, in a process of its own.

    echo '{"model": DIR, "prompt_ids": [[1, 2]], "max_new_tokens": 64, "max_model_len": 2048}' \
        | python -m training.vllm_generate

Prints one line `COMPLETIONS [...]` (JSON, in prompt order). `FORGE_EVAL_GPU_MEMORY` sets the share
of the GPU's memory vLLM may take (default 0.3: the trainer keeps its own).
"""

from __future__ import annotations

import json
import os
import sys


def main() -> None:
    from vllm import LLM, SamplingParams

    job = json.loads(sys.stdin.read())
    llm = LLM(model=job["model"], max_model_len=job["max_model_len"], enforce_eager=True,
              gpu_memory_utilization=float(os.environ.get("FORGE_EVAL_GPU_MEMORY", "0.3")),
              trust_remote_code=False)
    params = SamplingParams(max_tokens=job["max_new_tokens"], temperature=0.0)
    outs = llm.generate([{"prompt_token_ids": ids} for ids in job["prompt_ids"]], params, use_tqdm=False)
    print("COMPLETIONS " + json.dumps([o.outputs[0].text for o in outs]), flush=True)


if __name__ == "__main__":
    main()
