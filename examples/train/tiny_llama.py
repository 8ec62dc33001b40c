"""A tiny Llama-style model trained from scratch through every stage of a mixture (CPU-friendly).

    forge mix build examples/mix/mixture.py --registry registry     # prints the mixture id
    forge train examples/train/tiny_llama.py --mixture ID --registry registry --out runs/tiny-llama

`forge demo` writes this file with the id of the mixture it built (see
`training.examples.render_example`); edit MIXTURE and REGISTRY, or pass `--mixture` and
`--registry`, to train on another one.
"""

from training import DeepSpeed, Model, Optimizer, Run, Schedule

MIXTURE = "REPLACE-WITH-A-MIXTURE-ID"  # a mixture id (or mixture directory)
REGISTRY = None  # the mixture registry dir; None: $FORGE_REGISTRY, else ./registry

run = Run(
    name="tiny-llama",
    mixture=MIXTURE,
    registry=REGISTRY,
    # vocab_size is left out: it comes from the mixture's tokenizer.
    model=Model(config={
        "model_type": "llama", "hidden_size": 64, "intermediate_size": 192, "num_hidden_layers": 2,
        # head_dim 32: the smallest head size vLLM's CPU attention serves
        "num_attention_heads": 2, "num_key_value_heads": 1, "tie_word_embeddings": True,
        "rope_theta": 10000.0,
    }),
    # fp32 on CPU and bf16 on GPU (precision="auto"); one packed row per micro-step.
    deepspeed=DeepSpeed(zero_stage=0, micro_batch_size=4, grad_accum=1, grad_clip=1.0),
    optimizer=Optimizer(lr=3e-3, weight_decay=0.01),
    # Warm up over 10% of the first stage, hold, then decay over the mixture's last stage.
    schedule=Schedule(kind="wsd", warmup=0.1),
    eval_every=20,
    save_every=50,
    # Per-stage RoPE base for context extension, by stage name, e.g. {"long": 500000.0}.
    rope_theta={},
)
