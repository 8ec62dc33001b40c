"""Turning replies into values: JSON extraction (tolerant of fences, chatter and cut-off replies)."""

from __future__ import annotations

import json
import re
from typing import Any

_FENCE = re.compile(r"```(?:json)?\s*(.*?)(?:```|$)", re.S)


class ParseError(ValueError):
    """A reply that does not parse; the message becomes the quarantine detail after the last retry."""


def _scan(fragment: str) -> tuple[list[str], bool, list[int]]:
    """Open containers (as closers), whether a string is open, and cut points (after `{`/`[`, at `,`)."""
    stack: list[str] = []
    cuts: list[int] = []
    in_str = esc = False
    for i, ch in enumerate(fragment):
        if in_str:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                in_str = False
        elif ch == '"':
            in_str = True
        elif ch in "{[":
            stack.append("}" if ch == "{" else "]")
            cuts.append(i + 1)
        elif ch in "}]" and stack:
            stack.pop()
        elif ch == ",":
            cuts.append(i)
    return stack, in_str, cuts


def _close(fragment: str) -> str:
    """Close the strings, arrays and objects a reply cut off by the token budget left open."""
    stack, in_str, _ = _scan(fragment)
    return fragment + ('"' if in_str else "") + "".join(reversed(stack))


def parse_json_object(reply: str, allow_truncated: bool = True) -> dict[str, Any]:
    """The first JSON object in `reply`; a reply cut off mid-object is closed when `allow_truncated`."""
    text = reply.strip()
    fenced = _FENCE.search(text)
    if fenced:
        text = fenced.group(1).strip()
    start = text.find("{")
    if start < 0:
        raise ParseError(f"no JSON object in reply {reply[:80]!r}")
    decoder = json.JSONDecoder()
    try:
        obj, _ = decoder.raw_decode(text[start:])
    except json.JSONDecodeError as e:
        if not allow_truncated:
            raise ParseError(f"invalid JSON in reply ({e.msg}): {reply[:80]!r}") from e
        obj = _repair(text[start:], e)
    if not isinstance(obj, dict):
        raise ParseError(f"reply JSON is a {type(obj).__name__}, expected an object")
    return obj


def _repair(fragment: str, err: json.JSONDecodeError) -> Any:
    # Close what is open; if a key or value was cut mid-way, back off to the last complete member.
    candidate = fragment
    for _ in range(8):
        try:
            return json.loads(_close(candidate))
        except json.JSONDecodeError:
            cuts = _scan(candidate)[2]
            if not cuts or cuts[-1] >= len(candidate):
                cuts = [c for c in cuts if c < len(candidate)]
            if not cuts:
                break
            candidate = candidate[:cuts[-1]]
    raise ParseError(f"invalid JSON in reply ({err.msg}): {fragment[:80]!r}")


_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def parse_score(reply: str, lo: float, hi: float) -> float:
    """A score in [lo, hi] from a free-text reply: after the word 'score' if present, else the first number."""
    m = re.search(r"score\W{0,5}(-?\d+(?:\.\d+)?)", reply, re.I)
    candidates = [m.group(1)] if m else _NUMBER.findall(reply)
    for c in candidates:
        v = float(c)
        if lo <= v <= hi:
            return v
    raise ParseError(f"no score in [{lo:g}, {hi:g}] in reply {reply[:80]!r}")
