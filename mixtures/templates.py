"""Chat settings of a mixture's chat and completion sources: template, role names, system-prompt policy.

Set on the `Mixture` (for every source) or on a `Source` (its own value wins):

    chat_template  "tokenizer" (default): the tokenizer's own template; "chatml-tools": ChatML with tool
                   schemas, tool calls, tool results and reasoning (mixtures/templates/chatml-tools.jinja);
                   or a path to a `.jinja` file inside the spec file's folder (the working dir when the
                   mixture is built without a spec file).
    roles          contract role -> the name the template renders, e.g. {"assistant": "me"}; the loss
                   mask still follows the assistant turns.
    system_prompt  "default": what the template does (SmolLM2's inserts "You are a helpful AI assistant
                   named SmolLM..." when a conversation has no system message); "none" (or None on the
                   Mixture): no system prompt is added; any other text: the system message of every
                   conversation that has none. A record's own system message is data and always kept.

A template path is a location: the mixture id commits to the template's sha256 instead (input key), so
moving the file keeps the id and editing it changes it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dataforge.core.errors import ForgeError
from dataforge.core.hashing import sha256_bytes

DEFAULT_TEMPLATE = "tokenizer"
NAMED = {"tokenizer": None, "chatml-tools": "chatml-tools.jinja"}  # name -> file in mixtures/templates/
TEMPLATE_DIR = Path(__file__).with_name("templates")
MAX_TEMPLATE_BYTES = 1 << 20  # a chat template is a few KB; a larger file is the wrong file
SYSTEM_POLICIES = ("default", "none")
ROLE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,31}$")
CONTRACT_ROLES = ("system", "user", "assistant", "tool")


def template_problem(value: str) -> str | None:
    """Why `value` is no chat template setting (a known name or a path to a .jinja file), else None."""
    if value in NAMED:
        return None
    if "\x00" in value or not value.endswith(".jinja"):
        return (f"{value!r} is neither a named template ({', '.join(NAMED)}) nor a path to a .jinja file; "
                "fix the name or give the template file")
    return None


def roles_problem(roles: dict[str, str]) -> str | None:
    """Why `roles` cannot rename the contract's roles, else None."""
    for role, name in roles.items():
        if role not in CONTRACT_ROLES:
            return f"unknown role {role!r}; rename one of {', '.join(CONTRACT_ROLES)}"
        if not isinstance(name, str) or not ROLE_NAME.match(name):
            return (f"{role!r} -> {name!r}: a role name is a letter then up to 31 letters, digits, '_' or '-' "
                    "(no spaces or template markup)")
    shown = [roles.get(r, r) for r in CONTRACT_ROLES]
    if len(set(shown)) < len(shown):
        return f"two roles would be rendered with the same name ({sorted(shown)}); give each its own"
    return None


def is_file_template(value: str | None) -> bool:
    return value is not None and value not in NAMED


def chat_problem(template: str | None, roles: dict[str, str] | None, prompt: str | None) -> str | None:
    """'field: why' for the first chat setting a spec cannot use, else None."""
    problem = template_problem(template) if template is not None else None
    if problem:
        return f"chat_template: {problem}"
    problem = roles_problem(roles) if roles else None
    if problem:
        return f"roles: {problem}"
    if prompt is not None and not prompt.strip():
        return "system_prompt: empty; give 'default', 'none' or the system prompt text"
    return None


def chat_identity(spec: dict[str, Any], defaults: dict[str, Any]) -> None:
    """Chat settings at their defaults are left out of the id (ids of mixtures without them stay as they
    were); a template file's path is a location, replaced by 'file' (its sha256 enters the input key)."""
    for k, v in defaults.items():
        if spec.get(k) == v:
            spec.pop(k, None)
    if is_file_template(spec.get("chat_template")):
        spec["chat_template"] = "file"


def _read_template(ref: str, where: str, base: Path) -> str:
    """A template file's text; it must exist inside `base` (symlinks resolved) and be small UTF-8 text."""
    path = Path(ref).expanduser()
    path = (path if path.is_absolute() else base / path).resolve()
    if not path.is_relative_to(base.resolve()):
        raise ForgeError(f"{where}: {ref!r} is outside {base}; chat templates are read only from the spec "
                         "file's folder: copy the template beside the spec or use a named template "
                         f"({', '.join(NAMED)})")
    if not path.is_file():
        raise ForgeError(f"{where}: template file {path} not found; fix the path (relative to {base})")
    data = path.read_bytes()
    if len(data) > MAX_TEMPLATE_BYTES:
        raise ForgeError(f"{where}: {path} is {len(data):,} bytes, more than a chat template's "
                         f"{MAX_TEMPLATE_BYTES:,}; give the .jinja template file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ForgeError(f"{where}: {path} is not UTF-8 text ({e}); give the .jinja template file") from e


@dataclass(frozen=True, slots=True)
class ChatSettings:
    """What one source's records are rendered with (shipped to executors as `payload()`).

    Args:
        template: the Jinja text, or None when the tokenizer has no template (conversations then
            quarantine as `no_chat_template`).
        ref: the setting it came from (a name or the path as given).
        roles: contract role -> rendered name.
        system_prompt: "default", "none", or the text to insert.
    """

    template: str | None
    ref: str = DEFAULT_TEMPLATE
    roles: dict[str, str] = field(default_factory=dict)
    system_prompt: str = "default"

    def payload(self) -> dict[str, Any]:
        return {"template": self.template, "roles": dict(self.roles), "system_prompt": self.system_prompt}

    def describe(self) -> dict[str, Any]:
        return {"chat_template": self.ref, "sha256": sha256_bytes((self.template or "").encode("utf-8")),
                "roles": dict(self.roles), "system_prompt": self.system_prompt}


def _settings_of(mixture, name: str) -> tuple[str, str, dict[str, str], str]:
    """(field named in errors, template setting, roles, system prompt) of one source: its own, else the mixture's."""
    src = mixture.source(name)
    own = src.chat_template is not None
    where = f"Source({name!r}).chat_template" if own else f"Mixture({mixture.name!r}).chat_template"
    ref = src.chat_template if own else mixture.chat_template
    roles = src.roles if src.roles is not None else mixture.roles
    prompt = src.system_prompt if src.system_prompt is not None else mixture.system_prompt
    return where, ref, dict(roles), prompt


def template_text(where: str, ref: str, base: Path, tokenizer_template: str | None) -> str | None:
    if ref == DEFAULT_TEMPLATE:
        return tokenizer_template
    if ref in NAMED:
        return (TEMPLATE_DIR / NAMED[ref]).read_text("utf-8")
    return _read_template(ref, where, base)


def template_hashes(mixture, names: list[str], spec_dir: Path | None) -> dict[str, str]:
    """sha256 of the template text of each named source that does not use the tokenizer's own (the
    tokenizer hash already pins that one): what the mixture id commits to. Raises one-line errors."""
    base = spec_dir or Path.cwd()
    out = {}
    for name in names:
        where, ref, _, _ = _settings_of(mixture, name)
        if ref != DEFAULT_TEMPLATE:
            out[name] = sha256_bytes(template_text(where, ref, base, None).encode("utf-8"))
    return out


def chat_settings(mixture, names: list[str], spec_dir: Path | None,
                  tokenizer_template: str | None) -> dict[str, ChatSettings]:
    """The ChatSettings of each named source (chat and completion sources)."""
    base = spec_dir or Path.cwd()
    out = {}
    for name in names:
        where, ref, roles, prompt = _settings_of(mixture, name)
        out[name] = ChatSettings(template_text(where, ref, base, tokenizer_template), ref, roles, prompt)
    return out
