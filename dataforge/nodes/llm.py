"""LLM transform nodes: a jinja2 prompt rendered from the input struct, the reply parsed into the output.

Reply modes:
- text: the reply (stripped) fills one string field of the output (`reply="question"`, or inferred
  when the output adds exactly one string field);
- json: the reply is a JSON object with the fields the output adds, decoded under that JSON schema
  when the backend supports constrained decoding;
- custom: `parse(reply, input)` returns the output struct (or a dict of the fields it adds).
Fields the output shares with the input are carried over. A reply that does not parse, or breaks a
guarantee, is retried with a new seed up to `retries` times, then the walk is quarantined.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import jinja2
from jinja2 import meta
from jinja2.sandbox import SandboxedEnvironment
from pydantic import ValidationError

from dataforge.backends.base import Completion, Prompt, Sampling
from dataforge.conditions import Predicate
from dataforge.core.errors import ForgeError, one_line
from dataforge.core.hashing import stable_hash
from dataforge.nodes.base import Context, Item, Node, Outcome, Quarantined, WalkStep, carry
from dataforge.nodes.parsing import ParseError, parse_json_object
from dataforge.structs import Struct, field_types, is_assignable, required_fields, struct_schema, type_name

_ENV = SandboxedEnvironment(undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=True)


def compile_template(node: str, source: str, input: type[Struct], what: str,
                     extra: frozenset[str] = frozenset({"input"})) -> jinja2.Template:
    """Compile a template, rejecting variables the input struct does not have (before any call)."""
    try:
        names = meta.find_undeclared_variables(_ENV.parse(source))
        template = _ENV.from_string(source)
    except jinja2.TemplateSyntaxError as e:
        raise ForgeError(f"node {node}: {what} template line {e.lineno}: {e.message}") from e
    unknown = sorted(names - set(input.model_fields) - extra)
    if unknown:
        raise ForgeError(f"node {node}: {what} template uses {unknown}, which {input.__name__} does not "
                         f"have (fields: {sorted(input.model_fields)})")
    return template


class LLMNode(Node):
    """An LLM transform from one struct to another.

    Args:
        prompt: jinja2 template of the user message, rendered with the input's fields (and `input`).
        system: optional jinja2 template of a system message.
        messages: instead of `prompt`, a function input -> list of chat messages (multi-turn prompts).
        chat: False sends the rendered prompt as a raw string (base models).
        reply: the output field the reply text fills (text mode).
        parse: custom parser `(reply, input) -> output struct or dict of new fields`.
        sampling: the node's sampling parameters (the engine sets a seed per call).
        structured: constrain JSON replies with the output schema when the backend can.
        retries: extra attempts (each with a new seed) for replies that do not parse.
        reasoning: an output str field that receives the reply's reasoning trace (the server's
            `reasoning_content`, or the `<think>` block a reasoning backend split off; "" when none).
        backend: this node's own model (a `BackendSpec`, built once per run, or a `Backend`) instead
            of the run's, behind the same call cache: e.g. a strong server and the embedded model as
            the weak one in one graph. Use a spec when the graph runs on Spark executors.
    Example:
        ask = LLMNode("ask", Document, Question, prompt="Ask one question about: {{ text }}",
                      sampling=Sampling(max_tokens=32))
    """

    kind = "llm"
    calls_llm = True
    template_vars: ClassVar[frozenset[str]] = frozenset({"input"})

    def __init__(self, name: str, input: type[Struct], output: type[Struct], prompt: str | None = None, *,
                 system: str | None = None, messages: Callable[[Struct], list[dict[str, str]]] | None = None,
                 chat: bool = True, reply: str | None = None,
                 parse: Callable[[str, Struct], Struct | dict[str, Any]] | None = None,
                 sampling: Sampling | None = None, structured: bool = True, retries: int = 2,
                 requires: Sequence[Predicate] = (), guarantees: Sequence[Predicate] = (),
                 reasoning: str | None = None, backend: Any = None):
        super().__init__(name, input, output, requires=requires, guarantees=guarantees)
        if reasoning is not None and (reasoning not in output.model_fields or reasoning in input.model_fields
                                      or output.model_fields[reasoning].annotation is not str):
            raise ForgeError(f"node {name}: reasoning field '{reasoning}' must be a str field {output.__name__} "
                             f"adds to {input.__name__}")
        self.reasoning_field, self.backend = reasoning, backend
        if (prompt is None) == (messages is None):
            raise ForgeError(f"node {name}: give exactly one of prompt= (a template) or messages= (a function)")
        self.prompt_source, self.system_source, self.messages_fn = prompt, system, messages
        self._compile()
        self.chat, self.parse_fn, self.structured = chat, parse, structured
        self.sampling = sampling or Sampling()
        self.retries = max(0, int(retries))
        self.new_fields = [f for f in output.model_fields if f not in input.model_fields and f != reasoning]
        self.reply_field = reply if reply is not None else self._infer_reply_field()
        self._check_contract()

    def _compile(self) -> None:
        src, sys_src, extra = self.prompt_source, self.system_source, self.template_vars
        self.template = compile_template(self.name, src, self.input, "prompt", extra) if src is not None else None
        self.system = compile_template(self.name, sys_src, self.input, "system", extra) if sys_src else None

    def __getstate__(self) -> dict[str, Any]:
        # Compiled jinja2 templates do not pickle; executors recompile them from the source text.
        return {k: v for k, v in self.__dict__.items() if k not in ("template", "system")}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._compile()

    def _infer_reply_field(self) -> str | None:
        if self.parse_fn is None and len(self.new_fields) == 1:
            only = self.new_fields[0]
            if self.output.model_fields[only].annotation is str:
                return only
        return None

    def _check_contract(self) -> None:
        src, dst = field_types(self.input), field_types(self.output)
        for f in self.output.model_fields:
            if f in src and not is_assignable(src[f], dst[f]):
                raise ForgeError(f"node {self.name}: field '{f}' is {type_name(src[f])} in {self.input.__name__} "
                                 f"but {type_name(dst[f])} in {self.output.__name__}; rename one")
        if self.reply_field is not None:
            if self.reply_field not in dst or dst[self.reply_field] is not str:
                raise ForgeError(f"node {self.name}: reply field '{self.reply_field}' must be a str field of "
                                 f"{self.output.__name__}")
            missing = [f for f in required_fields(self.output)
                       if f not in src and f not in (self.reply_field, self.reasoning_field)]
            if missing and self.parse_fn is None:
                raise ForgeError(f"node {self.name}: {self.output.__name__} fields {missing} are neither in "
                                 f"{self.input.__name__} nor filled by the reply; use JSON mode (reply=None)")

    @property
    def template_hash(self) -> str:
        fn = getattr(self.messages_fn, "__qualname__", None)
        return stable_hash({"prompt": self.prompt_source, "system": self.system_source, "messages_fn": fn,
                            "chat": self.chat}, 16)

    def render(self, value: Struct) -> Prompt:
        """The prompt for one input (a chat, or a raw string when `chat=False`)."""
        if self.messages_fn is not None:
            return [dict(m) for m in self.messages_fn(value)]
        ns = {**{k: getattr(value, k) for k in type(value).model_fields}, "input": value}
        user = self.template.render(ns)
        if not self.chat:
            return user
        msgs = [{"role": "system", "content": self.system.render(ns)}] if self.system is not None else []
        return msgs + [{"role": "user", "content": user}]

    def call(self, ctx: Context, prompts: list[Prompt], params: list[Sampling],
             name: str | None = None) -> list[Completion]:
        """The batched, cached call (counted under `name`, default this node), on this node's own
        backend when it has one."""
        if self.backend is None:
            return ctx.generate(name or self.name, prompts, params)
        return ctx.generate(name or self.name, prompts, params, backend=self.backend)  # type: ignore[call-arg]

    def model_of(self, ctx: Context) -> str:
        return ctx.model_id if self.backend is None else ctx.model_of(self.backend)  # type: ignore[attr-defined]

    def params(self, ctx: Context) -> Sampling:
        supports = (ctx.supports_json_schema if self.backend is None
                    else ctx.backend_for(self.backend).supports_json_schema)  # type: ignore[attr-defined]
        if self.reply_field is None and self.parse_fn is None and self.structured and supports:
            return self.sampling.model_copy(update={"json_schema": struct_schema(self.output, self.new_fields)})
        return self.sampling

    def parse(self, reply: str, value: Struct, finish_reason: str, reasoning: str | None = None) -> Struct:
        """Turn a reply into the output struct; raise ParseError (or ValidationError) when it does not fit."""
        extra = {self.reasoning_field: reasoning or ""} if self.reasoning_field is not None else {}
        if self.parse_fn is not None:
            got = self.parse_fn(reply, value)
            if isinstance(got, self.output):
                return got.model_copy(update=extra) if extra else got
            return carry(value, self.output, **{**extra, **dict(got)})
        if self.reply_field is not None:
            text = reply.strip()
            if not text:
                raise ParseError("empty reply")
            return carry(value, self.output, **extra, **{self.reply_field: text})
        obj = parse_json_object(reply)
        return carry(value, self.output, **extra, **{k: v for k, v in obj.items() if k in self.new_fields})

    def broken(self, out: Struct) -> list[str]:
        """Guarantees an output breaks (such a reply is retried like one that does not parse)."""
        return [g.name for g in self.guarantees if not g(out)]

    def run(self, items: list[Item], ctx: Context) -> list[Outcome]:
        base = self.params(ctx)
        prompts = [self.render(it.value) for it in items]
        outcomes: list[Outcome | None] = [None] * len(items)
        errors: dict[int, list[str]] = {i: [] for i in range(len(items))}
        pending = list(range(len(items)))
        for attempt in range(self.retries + 1):
            if not pending:
                break
            params = [base.with_seed(ctx.call_seed(items[i].key, self.name, attempt)) for i in pending]
            replies = self.call(ctx, [prompts[i] for i in pending], params)
            still = []
            for i, p, c in zip(pending, params, replies, strict=True):
                try:
                    out = self.parse(c.text, items[i].value, c.finish_reason, c.reasoning)
                    broken = self.broken(out)
                    if broken:
                        raise ParseError(f"reply breaks guarantee {broken[0]}")
                except (ParseError, ValidationError, ValueError, TypeError) as e:
                    errors[i].append(f"{one_line(e)} | reply: {c.text[:120]!r}")
                    still.append(i)
                    continue
                info = {"template_hash": self.template_hash, "model": self.model_of(ctx), "sampling": p.lineage(),
                        "attempts": attempt + 1, "finish_reason": c.finish_reason}
                call = {"prompt": prompts[i], "reply": c.text}
                outcomes[i] = WalkStep(out, info, [call if c.reasoning is None else {**call, "reasoning": c.reasoning}])
            pending = still
        for i in pending:
            outcomes[i] = Quarantined("unparseable_reply", errors[i][-1],
                                     {"template_hash": self.template_hash, "model": self.model_of(ctx),
                                      "attempts": self.retries + 1, "errors": errors[i]})
        return outcomes  # type: ignore[return-value]

    def describe(self) -> dict[str, Any]:
        mode = "custom" if self.parse_fn is not None else ("text" if self.reply_field else "json")
        return {**super().describe(), "prompt": self.prompt_source, "system": self.system_source,
                "messages_fn": getattr(self.messages_fn, "__qualname__", None), "chat": self.chat,
                "mode": mode, "reply_field": self.reply_field, "sampling": self.sampling.lineage(),
                "retries": self.retries, "template_hash": self.template_hash,
                **({"backend": _backend_json(self.backend)} if self.backend is not None else {})}


def _backend_json(backend: Any) -> Any:
    # A spec serializes (its credentials are redacted with the manifest); a live backend by its model id.
    dump = getattr(backend, "model_dump", None)
    return dump(mode="json") if callable(dump) else {"model_id": getattr(backend, "model_id", repr(backend))}


