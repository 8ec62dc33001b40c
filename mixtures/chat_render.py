"""Render one conversation for training: the text segments to tokenize and the assistant spans in each.

The loss covers what the model writes at inference after the template's generation prompt: for each
trained assistant turn, the characters from the end of the generation prompt rendered for the turns
before it to the end of the turn (its end-of-turn token included, the newline after it not).

**Templates that rewrite earlier turns are rendered turn by turn.** A turn's span is valid in a rendering
only if that rendering begins with exactly the text the model is shown at that turn (the earlier turns
plus the generation prompt) and with the turn itself as a finished conversation renders it. Most templates
render every prefix as a prefix of the whole, so one rendering of the whole conversation carries every
span (one segment, as `apply_chat_template` gives). Qwen3-style templates drop the `reasoning_content` of
assistant turns before the last user message: in the whole rendering, an earlier turn appears without
its reasoning, which is not what the model wrote at that turn. Such a turn gets its own segment, the
rendering of the conversation up to and including it, with only its span trained; turns that render
consistently share the longest segment. A record's tokens are its segments' tokens in conversation
order, so decoding them gives the segments' texts back to back, and each trained turn is learnt in the
exact context the template shows the model at that turn. Only a turn that its own prefix rendering does
not contain is quarantined (`chat_template_not_incremental`).

Template markers (`{% generation %}`) give the spans directly when the whole conversation is trained
with its own role names. Role renaming (`roles={"assistant": "me"}`) renames the messages; templates
hard-code "assistant" in their generation prompt, so the generation prompt is taken with that word
replaced by the assistant's rendered name. System-prompt policy: see mixtures/templates.py; "none"
cuts the system block the template adds by itself to a conversation without a system message.
"""

from __future__ import annotations

from typing import Any

Span = tuple[int, int]
Segment = tuple[str, list[Span]]
PROBE = "\x00system-probe\x00"  # never in real text: marks the system content in probe renders


class ChatRenderError(ValueError):
    """A conversation the template cannot render with a usable assistant mask; `reason` is the quarantine tag."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(detail or reason)
        self.reason = reason


def prepare(messages: list[dict[str, Any]], settings: dict[str, Any]) -> tuple[list[dict[str, Any]], int]:
    """(messages with the system-prompt policy applied, how many messages were inserted in front)."""
    prompt = settings.get("system_prompt", "default")
    if prompt not in ("default", "none") and messages and messages[0]["role"] != "system":
        return [{"role": "system", "content": prompt}, *messages], 1
    return list(messages), 0


def _renamed(messages: list[dict[str, Any]], roles: dict[str, str]) -> list[dict[str, Any]]:
    if not roles:
        return messages
    return [{**m, "role": roles.get(m["role"], m["role"])} for m in messages]


class _Prefixes:
    """Renders of conversation prefixes, each computed once."""

    def __init__(self, chat, shown: list[dict[str, Any]], kwargs: dict[str, Any], assistant_name: str | None):
        self.chat, self.shown, self.kwargs, self.name = chat, shown, kwargs, assistant_name
        self._done: dict[tuple[int, bool], str] = {}

    def text(self, n: int, prompt: bool = False) -> str:
        if (n, prompt) not in self._done:
            self._done[(n, prompt)] = self.chat.render(self.shown[:n], add_generation_prompt=prompt, **self.kwargs)[0]
        return self._done[(n, prompt)]

    def shown_before(self, i: int) -> str:
        """What the model is shown before writing turn i: the earlier turns and the generation prompt."""
        if i == 0:
            return ""
        with_prompt = self.text(i, True)
        if self.name:
            base = self.text(i)
            if with_prompt.startswith(base):
                with_prompt = base + with_prompt[len(base):].replace("assistant", self.name)
        return with_prompt

    def span(self, i: int, text: str) -> Span | None:
        """Turn i's span in `text`, or None when `text` does not show turn i as the model would see it."""
        before, upto = self.shown_before(i), self.text(i + 1)
        if not (text.startswith(before) and text.startswith(upto) and len(upto) > len(before)):
            return None
        end = len(upto)
        while end > len(before) and upto[end - 1].isspace():  # no loss on the newline after end-of-turn
            end -= 1
        return len(before), end


def segments(chat, messages: list[dict[str, Any]], kwargs: dict[str, Any], settings: dict[str, Any] | None = None,
             train_from: int = 0) -> list[Segment]:
    """The segments (text, spans) of a conversation whose assistant turns from index `train_from` on are
    trained (`messages` as `prepare` returned them). Raises ChatRenderError."""
    settings = settings or {}
    roles = settings.get("roles") or {}
    trained = [i for i, m in enumerate(messages) if m["role"] == "assistant" and i >= train_from]
    if not trained:
        raise ChatRenderError("no_assistant_turn")
    shown = _renamed(messages, roles)
    if chat.marked and not roles and train_from == 0:
        full, marked = chat.render(shown, spans=True, **kwargs)
        if marked and len(marked) == len(trained):
            segs = [(full, [(int(a), int(b)) for a, b in marked])]
            return _cut_default_system(chat, messages, shown, kwargs, settings, segs)
    prefixes = _Prefixes(chat, shown, kwargs, roles.get("assistant"))
    out: list[Segment] = []
    pending = trained
    while pending:
        text = prefixes.text(pending[-1] + 1)
        got = {i: s for i in pending if (s := prefixes.span(i, text)) is not None}
        if pending[-1] not in got:
            raise ChatRenderError("chat_template_not_incremental",
                                  "the template renders a turn differently from the conversation up to it")
        out.append((text, [got[i] for i in sorted(got)]))
        pending = [i for i in pending if i not in got]
    return _cut_default_system(chat, messages, shown, kwargs, settings, out[::-1])


def _default_block(chat, shown: list[dict[str, Any]], kwargs: dict[str, Any], system: str) -> int:
    """Length of the text the template puts before the turns of a conversation without a system message
    (`system`: the system role's rendered name)."""
    probe = [{"role": system, "content": PROBE}]
    alone = chat.render(probe, **kwargs)[0]
    with_probe = chat.render(probe + shown, **kwargs)[0]
    plain = chat.render(shown, **kwargs)[0]
    if not with_probe.startswith(alone) or not plain.endswith(with_probe[len(alone):]):
        raise ChatRenderError("system_prompt_not_removable",
                              "the template's own system block cannot be told apart from the turns")
    return len(plain) - (len(with_probe) - len(alone))


def _cut_default_system(chat, messages, shown, kwargs, settings, segs: list[Segment]) -> list[Segment]:
    """System-prompt policy "none": cut the system block the template adds by itself, if any."""
    if settings.get("system_prompt") != "none" or messages[0]["role"] == "system":
        return segs
    system = (settings.get("roles") or {}).get("system", "system")
    cut = _default_block(chat, shown, kwargs, system)
    if cut and kwargs.get("tools"):
        # the block may hold the tool schemas too; cut only when it is the same without tools
        bare = {k: v for k, v in kwargs.items() if k != "tools"}
        if _default_block(chat, shown, bare, system) == 0:
            return segs  # the template adds no default prompt: the block is the tools alone
        raise ChatRenderError("system_prompt_holds_tools",
                              "the template writes its default system prompt and the tools in one block")
    if not cut:
        return segs
    head = segs[-1][0][:cut]
    if any(not text.startswith(head) for text, _ in segs):
        raise ChatRenderError("system_prompt_not_removable")
    return [(text[cut:], [(max(0, a - cut), b - cut) for a, b in spans]) for text, spans in segs]
