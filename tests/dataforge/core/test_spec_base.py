"""Every spec and config class derives from `SpecModel` and says a bad field in one line naming it."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from dataforge.core.errors import ForgeError
from dataforge.core.spec import SpecModel, SpecValidationError

M = {"model_type": "llama"}


def _cases():
    from curation import ExactDedup, ExtractText, LanguageFilter, MinHashDedup, Pipeline, URLFilter, Where
    from dataforge.backends import BackendSpec, Sampling
    from dataforge.ifthink import Constraint, ConversationPlan, IFThinkConfig
    from dataforge.rephrase import RephraseConfig, RephraseStyle
    from dataforge.taxonomy import Taxonomy
    from mixtures import Mixture, Source, Stage
    from training.evals import GenEval
    from training.init import StartFrom
    from training.optim import StageOptim
    from training.spec import DPO, DeepSpeed, Model, Optimizer, Run, Schedule

    return [
        (Sampling, {"max_tokens": 0}, "Sampling.max_tokens: must be >= 1"),
        (BackendSpec, {"batch_size": 0}, "BackendSpec.batch_size: must be >= 1"),
        (Taxonomy, {"domain": "math", "k": 99}, "Taxonomy.k: must be <= 50"),
        (RephraseStyle, {"name": "Bad Name", "instruction": "x"},
         "RephraseStyle('Bad Name').name: style name"),
        (RephraseConfig, {"ledger": "l", "max_exposure": -1}, "RephraseConfig.max_exposure: must be >= 0"),
        (IFThinkConfig, {"turns": 2}, "IFThinkConfig.turns: must be >= 3"),
        (Constraint, {"id": "punctuation:no_comma", "colour": 1}, "Constraint.colour: Extra inputs"),
        (ConversationPlan, {"user_turns": "x", "constraints": []}, "ConversationPlan.user_turns:"),
        (ExactDedup, {"normalise": True}, "ExactDedup.normalise: Extra inputs"),
        (LanguageFilter, {"threshold": 2}, "LanguageFilter.threshold: must be <= 1"),
        (MinHashDedup, {"num_perm": "many"}, "MinHashDedup.num_perm:"),
        (Pipeline, {"steps": [1]}, "Pipeline.steps: pipeline[0] is a int"),
        (Where, {"step": ExactDedup(), "kind": "text"}, "Where: ExactDedup is not a datatrove"),
        (Source, {"name": "web", "path": "p", "max_epochs": 0}, "Source('web').max_epochs:"),
        (Stage, {"name": "s", "tokens": 10, "seq_len": 2}, "Stage('s').seq_len:"),
        (Mixture, {"name": "m", "tokenizer": "embedded", "stages": [], "colour": 1}, "Mixture('m').colour:"),
        (Model, {"config": M, "loss_chunk_tokens": 1}, "run.model.loss_chunk_tokens: must be >= 64"),
        (Optimizer, {"lr": 0}, "run.optimizer.lr: must be > 0"),
        (Schedule, {"warmup": 1}, "run.schedule.warmup: must be < 1"),
        (DeepSpeed, {"zero_stage": 4}, "run.deepspeed.zero_stage: must be <= 3 (got 4)"),
        (Run, {"name": "Bad Name", "mixture": "m", "model": {"config": M}}, "run.name: run name 'Bad Name'"),
        (StageOptim, {"lr": 0}, "run.stage_optim.lr: must be > 0"),
        (StartFrom, {"run": "r", "checkpoint": -3}, "run.start_from: checkpoint: a step >= 0"),
        (GenEval, {"name": "x", "kind": "poetry", "prompts": "p"}, "run.evals.kind: Input should be"),
        (DPO, {"beta": 0}, "run.dpo.beta: must be > 0"),
        (ExtractText, {"engine": "lynx"}, "ExtractText.engine:"),
        (URLFilter, {"colour": 1}, "URLFilter.colour: Extra inputs"),
    ]


CASES = _cases()


@pytest.mark.parametrize("cls, fields, says", CASES, ids=[c[0].__name__ for c in CASES])
def test_each_spec_class_says_a_bad_field_in_one_line_naming_it(cls, fields, says):
    assert issubclass(cls, SpecModel)
    with pytest.raises(ForgeError) as got:
        cls(**fields)
    line = str(got.value)
    assert line.startswith(says), line
    assert "\n" not in line and len(line) < 400, line
    if cls.error_class is SpecValidationError:  # callers that caught pydantic's ValidationError still do
        assert isinstance(got.value, ValueError)


def test_model_validate_gives_the_same_one_line_error():
    from dataforge.backends import BackendSpec

    with pytest.raises(SpecValidationError, match=r"^BackendSpec.batch_size: must be >= 1 \(got 0\)$"):
        BackendSpec.model_validate({"batch_size": 0})


def test_specs_are_frozen_and_refuse_unknown_fields():
    from dataforge.backends import Sampling

    s = Sampling(max_tokens=4)
    with pytest.raises(Exception, match="frozen"):
        s.max_tokens = 5  # type: ignore[misc]
    with pytest.raises(SpecValidationError, match=r"^Sampling.max_token: Extra inputs are not permitted"):
        Sampling(max_token=4)


def test_structs_are_data_not_specs():
    from dataforge.structs import Struct

    assert issubclass(Struct, BaseModel) and not issubclass(Struct, SpecModel)


def test_renamed_names_import_and_mean_one_thing():
    import curation
    import dataforge
    import training
    from dataforge.ifthink import ConversationPlan
    from dataforge.nodes import Quarantined, WalkStep
    from mixtures.plan import Plan as MixturePlan

    assert dataforge.WalkStep is WalkStep and dataforge.Quarantined is Quarantined
    assert training.TrainResult.__module__ == "training.engine"
    assert not hasattr(dataforge, "Step") and not hasattr(dataforge, "Quarantine")
    assert curation.Step.__module__ == curation.Quarantine.__module__ == "curation.steps.base"
    assert ConversationPlan is not MixturePlan
    assert not hasattr(training, "RunResult")
