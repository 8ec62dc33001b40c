"""The record contract every layer reads and writes: four kinds, one Arrow schema per layout.

kinds.py: the kinds, their fields, detection, checks, default ids and `judged_text`; messages.py: chat
messages in the OpenAI/HF schema; arrow.py: Parquet schemas and lossless row <-> record conversion;
files.py: which files a dataset's records are in; legacy.py: the generator's typed builders.
"""

from __future__ import annotations

import pyarrow as pa

from dataforge.core.records.arrow import (
    KWARGS_TYPE,
    LAYOUTS,
    dump_metadata,
    from_arrow_form,
    kind_of,
    load_metadata,
    record_from_row,
    record_layout,
    record_to_row,
    row_layout,
    schema_of,
    spark_schema,
)
from dataforge.core.records.kinds import (
    FIELDS,
    KINDS,
    default_id,
    detect_kind,
    judged_text,
    layout_of,
    parse_body,
)
from dataforge.core.records.legacy import ChatRecord, TextRecord
from dataforge.core.records.messages import (
    MESSAGE_TYPE,
    MESSAGES_TYPE,
    ROLES,
    RecordError,
    check_messages,
    messages_text,
)

TEXT_SCHEMA = schema_of("text")
CHAT_SCHEMA = schema_of("chat")


def ddl(schema: pa.Schema) -> str:
    """An Arrow schema as Spark DDL (strings, booleans, integers, lists and structs)."""
    def t(tp) -> str:
        if pa.types.is_struct(tp):
            return "struct<" + ",".join(f"{f.name}:{t(f.type)}" for f in tp) + ">"
        if pa.types.is_list(tp):
            return f"array<{t(tp.value_type)}>"
        return {pa.string(): "string", pa.bool_(): "boolean", pa.int64(): "long", pa.int32(): "int",
                pa.binary(): "binary"}[tp]

    return ", ".join(f"{f.name} {t(f.type)}" for f in schema)


TEXT_DDL = ddl(TEXT_SCHEMA)
CHAT_DDL = ddl(CHAT_SCHEMA)


def schema_for(kind: str) -> pa.Schema:
    """The schema of the generator's two layouts (kept for its writers)."""
    if kind not in ("text", "chat"):
        raise ValueError(f"record kind must be 'text' or 'chat', got {kind!r}")
    return TEXT_SCHEMA if kind == "text" else CHAT_SCHEMA


__all__ = ["CHAT_DDL", "CHAT_SCHEMA", "FIELDS", "KINDS", "KWARGS_TYPE", "LAYOUTS", "MESSAGES_TYPE", "MESSAGE_TYPE",
           "ROLES", "TEXT_DDL", "TEXT_SCHEMA", "ChatRecord", "RecordError", "TextRecord", "check_messages", "ddl",
           "default_id", "detect_kind", "dump_metadata", "from_arrow_form", "judged_text", "kind_of", "layout_of", "load_metadata",
           "messages_text", "parse_body", "record_from_row", "record_layout", "record_to_row", "row_layout", "schema_for",
           "schema_of", "spark_schema"]
