"""The base of training's spec classes: errors name the field by where it ends up in the run."""

from __future__ import annotations

from typing import Any, ClassVar

from dataforge.core.spec import SpecModel


class _Spec(SpecModel):
    """Training's spec base: errors name the field by where it always ends up in the run (`WHERE`).

    A spec module builds `Model(...)`, `DeepSpeed(...)`, ... before `Run(...)`, so each class names
    itself as `run.model`, `run.deepspeed`, ... rather than by its class name.
    """

    WHERE: ClassVar[str] = "run"

    @classmethod
    def error_line(cls, field: str, reason: str, more: str, data: dict[str, Any]) -> str:
        if reason.startswith("run."):  # already names its full field (model config checks)
            return " ".join(f"{reason}{more}".split())
        return " ".join(f"{cls.WHERE}{'.' + field if field else ''}: {reason}{more}".split())
