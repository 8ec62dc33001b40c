"""Input: JSONL or Parquet files on any filesystem Spark reads, parsed without ever losing a line.

Every non-blank line (or Parquet row) becomes exactly one record: a parsed record, or a quarantined
one with its reason (`not_json`, `bad_utf8`, `too_large`, `no_text`, ...). Lines are read as raw bytes
(the text source keeps them undecoded), so invalid UTF-8 is seen rather than silently replaced.
Positions are file + line number, independent of how Spark splits the files.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from curation.steps.base import chat_text
from dataforge.core.errors import ForgeError
from dataforge.core.hashing import canonical_json, sha256_bytes, text_id
from dataforge.core.manifest import MANIFEST, Manifest
from dataforge.core.records import ROLES

JSONL_EXT = (".jsonl", ".json", ".jsonl.gz", ".json.gz", ".ndjson")
PARQUET_EXT = (".parquet",)
MAX_DOC_BYTES = 10_000_000  # larger documents are quarantined as too_large
LINE_BITS = 40  # _node = file_index << 40 | line: unique, ordered like the input
RESERVED = ("id", "text", "messages", "source", "metadata", "chat_template_kwargs")

PARSED_DDL = (
    "file_index int, block long, idx long, id string, source string, kind string, text string, "
    "messages array<struct<role:string,content:string>>, chat_template_kwargs struct<enable_thinking:boolean>, "
    "metadata string, status string, reason string, raw binary"
)


@dataclass
class InputSet:
    """The resolved input: its files (qualified URIs, sorted), format and parent dataset ids."""

    path: str
    fmt: str
    root: str
    files: list[str]
    sizes: list[int]
    parents: list[str] = field(default_factory=list)
    is_file: bool = False

    @property
    def total_bytes(self) -> int:
        return sum(self.sizes)

    def relpath(self, uri: str) -> str:
        rel = uri[len(self.root):].lstrip("/") if uri.startswith(self.root) else uri
        return unquote(rel) or unquote(uri.rsplit("/", 1)[-1])

    def display(self, uri: str, several: bool) -> str:
        """How the ledger names a file: relative to the input, prefixed by the input when there are several."""
        if not several:
            return self.relpath(uri)
        return self.path if self.is_file else f"{self.path.rstrip('/')}/{self.relpath(uri)}"


def _format_of(name: str) -> str | None:
    if name.endswith(JSONL_EXT):
        return "jsonl"
    if name.endswith(PARQUET_EXT):
        return "parquet"
    return None


def resolve_input(spark, path: str, fmt: str | None = None) -> InputSet:
    """List the input's files through Hadoop's FileSystem (local, HDFS, S3, ...)."""
    parents: list[str] = []
    local = Path(path) if "://" not in path else None
    if local is not None:
        if not local.exists():
            raise ForgeError(f"--input {path}: no such file or directory")
        given = str(local.absolute())
        if (local / MANIFEST).is_file():  # an engine dataset: read its records, keep its id as parent
            parents.append(Manifest.read(local).id)
            if (local / "data").is_dir():
                local = local / "data"
        path_for_fs = str(local.absolute())
    else:
        given = path_for_fs = path
    jvm = spark.sparkContext._jvm
    hpath = jvm.org.apache.hadoop.fs.Path(path_for_fs)
    try:
        fs = hpath.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
        if not fs.exists(hpath):
            raise ForgeError(f"--input {path}: no such file or directory")
        root = fs.makeQualified(jvm.org.apache.hadoop.fs.Path(given)).toString()
        found = []
        it = fs.listFiles(hpath, True)
        while it.hasNext():
            st = it.next()
            uri = st.getPath().toString()
            parts = uri[len(root):].split("/") if uri != root else [st.getPath().getName()]  # hidden/_SUCCESS
            if any(p.startswith((".", "_")) for p in parts if p):
                continue
            found.append((uri, int(st.getLen())))
    except ForgeError:
        raise
    except Exception as e:  # py4j errors carry a Java stack; one line is enough for the user
        raise ForgeError(f"--input {path}: cannot list ({str(e).splitlines()[0]})") from e
    is_file = bool(fs.getFileStatus(hpath).isFile())
    if is_file:
        root = root.rsplit("/", 1)[0]
    kinds = {_format_of(u) for u, _ in found} - {None}
    if fmt is None:
        if len(kinds) > 1:
            raise ForgeError(f"--input {path}: holds both JSONL and Parquet files; pass one kind (or --format)")
        if not kinds:
            raise ForgeError(f"--input {path}: no .jsonl/.json(.gz) or .parquet files found")
        fmt = kinds.pop()
    files = sorted(f for f in found if _format_of(f[0]) == fmt or (len(found) == 1 and fmt))
    if not files:
        raise ForgeError(f"--input {path}: no {fmt} files found")
    return InputSet(path=path, fmt=fmt, root=root, files=[f[0] for f in files], sizes=[f[1] for f in files],
                    parents=parents, is_file=is_file)


def file_key(uri: str) -> str:
    """One spelling per file: Hadoop lists `file:/a b`, Spark reports `file:/a%20b` or `file:///a%20b`."""
    u = unquote(uri)
    return "file:/" + u[len("file:///"):] if u.startswith("file:///") else u


def raw_frame(spark, inputs: InputSet):
    """One row per line (JSONL) or row (Parquet): file path, split start, index placeholder, bytes."""
    from pyspark.sql import functions as F

    path = F.col("_metadata.file_path").alias("file_path")
    if inputs.fmt == "jsonl":
        df = spark.read.text(inputs.files)
        return df.select(path, F.col("_metadata.file_block_start").alias("block"),
                         F.lit(-1).cast("long").alias("idx"), F.col("value").cast("binary").alias("value"))
    df = spark.read.option("mergeSchema", "true").parquet(*inputs.files)  # text + chat parts
    return df.select(path, F.lit(0).cast("long").alias("block"), F.col("_metadata.row_index").alias("idx"),
                     F.to_json(F.struct(*[F.col(f"`{c}`") for c in df.columns])).cast("binary").alias("value"))


def _quarantine(reason: str, raw: bytes, rid: str | None = None, source: str = "") -> dict[str, Any]:
    return {"id": rid or sha256_bytes(raw)[:32], "source": source, "kind": None, "text": None, "messages": None,
            "chat_template_kwargs": None, "metadata": None, "status": "quarantined", "reason": reason, "raw": raw}


def _messages(value: Any) -> list[dict[str, str]] | None:
    if not isinstance(value, list) or not value:
        return None
    out = []
    for m in value:
        if not isinstance(m, dict) or m.get("role") not in ROLES or not isinstance(m.get("content"), str):
            return None
        out.append({"role": m["role"], "content": m["content"]})
    return out


def _metadata(obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj.get("metadata")
    if isinstance(meta, str):
        try:
            meta = json.loads(meta) if meta.strip() else {}
        except ValueError:
            meta = {"raw_metadata": meta}
    if meta is None:
        meta = {}
    elif not isinstance(meta, dict):
        meta = {"raw_metadata": meta}
    for k, v in obj.items():  # unknown top-level fields are kept, not lost
        if k not in RESERVED and k not in meta:
            meta[k] = v
    return meta


def parse_record(raw: bytes, default_source: str, text_field: str = "text",
                 max_bytes: int = MAX_DOC_BYTES) -> dict[str, Any] | None:
    """Parse one input line into a record row, a quarantined row, or None for a blank line."""
    if len(raw) > max_bytes:
        return _quarantine("too_large", raw, source=default_source)
    try:
        s = raw.decode("utf-8")
    except UnicodeDecodeError:
        return _quarantine("bad_utf8", raw, source=default_source)
    if not s.strip():
        return None
    try:
        obj = json.loads(s.lstrip("\ufeff"))
    except ValueError:
        return _quarantine("not_json", raw, source=default_source)
    if not isinstance(obj, dict):
        return _quarantine("not_object", raw, source=default_source)
    rid = obj.get("id")
    if isinstance(rid, bool) or not isinstance(rid, str | int | type(None)):
        return _quarantine("bad_id", raw, source=default_source)
    rid = None if rid is None or rid == "" else str(rid)
    source = obj.get("source")
    source = default_source if source is None or source == "" else str(source)
    if text_field not in obj and "messages" in obj:
        messages = _messages(obj["messages"])
        if messages is None:
            return _quarantine("bad_messages", raw, rid, source)
        text, kind = chat_text(messages), "chat"
        rid = rid or text_id(canonical_json(messages))
        ctk = obj.get("chat_template_kwargs")
        thinking = ctk.get("enable_thinking") if isinstance(ctk, dict) else None
        ctk = {"enable_thinking": thinking} if isinstance(thinking, bool) else None
    else:
        text = obj.get(text_field)
        if text_field not in obj or text is None:
            return _quarantine("no_text", raw, rid, source)
        if not isinstance(text, str):
            return _quarantine("text_not_string", raw, rid, source)
        if not text.strip():
            return _quarantine("empty_text", raw, rid, source)
        messages, kind, ctk = None, "text", None
        rid = rid or text_id(text)
    meta = canonical_json(_metadata(obj))
    try:  # JSON escapes can smuggle in lone surrogates, which no UTF-8 file can hold
        for v in (text, meta, rid, source):
            v.encode("utf-8")
    except UnicodeEncodeError:
        return _quarantine("bad_unicode", raw, rid if rid and rid.isascii() else None, default_source)
    return {"id": rid, "source": source, "kind": kind, "text": text, "messages": messages,
            "chat_template_kwargs": ctk, "metadata": meta, "status": "ok", "reason": None, "raw": None}


def make_parser(files: dict[str, int], relpaths: list[str], text_field: str, max_bytes: int):
    """The mapInArrow function that parses raw lines; numbers lines within each Spark split.

    `files` maps `file_key(uri)` to the file's index in `relpaths`.
    """

    def parse(batches):
        import pyarrow as pa

        counters: dict[tuple[int, int], int] = {}
        schema = _parsed_schema()
        for batch in batches:
            cols = batch.to_pydict()
            rows = []
            for path, b, idx, raw in zip(cols["file_path"], cols["block"], cols["idx"], cols["value"], strict=True):
                f = files[file_key(path)]
                if idx < 0:  # JSONL: lines of a split arrive in order
                    idx = counters.get((f, b), 0)
                    counters[(f, b)] = idx + 1
                row = parse_record(raw, relpaths[f], text_field, max_bytes)
                if row is None:
                    row = {"status": "blank", "id": None, "source": None, "kind": None, "text": None,
                           "messages": None, "chat_template_kwargs": None, "metadata": None, "reason": None,
                           "raw": None}
                row.update(file_index=f, block=b, idx=idx)
                rows.append(row)
            yield pa.RecordBatch.from_pylist(rows, schema=schema)

    return parse


def _parsed_schema():
    import pyarrow as pa

    from dataforge.core.records import CHAT_SCHEMA

    return pa.schema([
        ("file_index", pa.int32()), ("block", pa.int64()), ("idx", pa.int64()), ("id", pa.string()),
        ("source", pa.string()), ("kind", pa.string()), ("text", pa.string()),
        ("messages", CHAT_SCHEMA.field("messages").type),
        ("chat_template_kwargs", CHAT_SCHEMA.field("chat_template_kwargs").type),
        ("metadata", pa.string()), ("status", pa.string()), ("reason", pa.string()), ("raw", pa.binary()),
    ])
