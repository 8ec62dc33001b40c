"""A post-training run whose stages each set their own optimization: stable -> decay -> sft.

    forge mix build examples/mix/stages.py --registry registry     # prints the mixture id
    forge train examples/train/stages.py --mixture ID --registry registry --out runs/stages
    tensorboard --logdir runs/stages                                # loss, lr, val loss, evals

The stable stage warms up and holds, the decay stage anneals linearly to a tenth of the peak, and the
SFT stage starts afresh (optimizer state reset) at a lower rate with a cosine. Adding a stage (a DPO
stage after SFT, say) is one `Stage(...)` in the mixture and one entry in STAGES. Runs on CPU in
about a minute.
"""

from training import DeepSpeed, GenEval, Model, Optimizer, Run, StageOptim
from training.examples import EXAMPLES_DIR

MIXTURE = "REPLACE-WITH-A-MIXTURE-ID"  # a mixture id (or mixture directory)
REGISTRY = None  # the mixture registry dir; None: $FORGE_REGISTRY, else ./registry
EVALS = EXAMPLES_DIR / "evals"  # held-out prompt sets shipped with the examples (IFEval format, math)

# One entry per mixture stage, in order; each stage's learning rate comes from its own entry.
STAGES = {
    "stable": StageOptim(lr=3e-3, warmup=0.1),                            # warm up, then hold
    "decay": StageOptim(lr=3e-3, kind="linear", min_lr_ratio=0.1),        # anneal to 3e-4
    "sft": StageOptim(lr=1e-3, warmup=0.1, kind="cosine", min_lr_ratio=0.1, weight_decay=0.0,
                      reset_optimizer=True),
}

run = Run(
    name="stages",
    mixture=MIXTURE,
    registry=REGISTRY,
    model=Model(config={
        "model_type": "llama", "hidden_size": 64, "intermediate_size": 192, "num_hidden_layers": 2,
        "num_attention_heads": 2, "num_key_value_heads": 1, "tie_word_embeddings": True,
    }),
    deepspeed=DeepSpeed(zero_stage=0, micro_batch_size=1, grad_accum=1),
    optimizer=Optimizer(lr=3e-3, weight_decay=0.01),  # no decay on embeddings, norms, biases
    stage_optim=STAGES,
    eval_every=5,  # and at each stage's end
    evals=[GenEval(name="ifeval", kind="ifeval", prompts=str(EVALS / "ifeval.jsonl"), max_new_tokens=16),
           GenEval(name="math", kind="math", prompts=str(EVALS / "math.jsonl"), max_new_tokens=16)],
    report_to=["tensorboard"],
    save_every=0,
)
