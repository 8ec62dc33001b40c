"""Generation specs: a Python module that defines `graph` and `seeds` (and optional defaults).

    graph = Graph("qa_judge", Document, [ask, answer, grade])      # required
    seeds = [Document(id="p1", text="..."), ...]                    # required: a list of structs/dicts,
                                                                   #   a JSONL/Parquet path relative to
                                                                   #   the spec, or a Taxonomy
    walks = 24                                                      # optional default for --walks
    backend = BackendSpec(kind="transformers", batch_size=16)       # optional default for --backend
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from dataforge.backends.registry import BackendSpec
from dataforge.contracts import convert
from dataforge.core.errors import ForgeError, SpecError, validation_line
from dataforge.core.specs import load_module
from dataforge.graph import Graph
from dataforge.structs import Struct
from dataforge.taxonomy import Taxonomy


@dataclass
class GenerateSpec:
    """What `forge generate` runs: the graph, where seeds come from, and the module's defaults."""

    path: Path
    graph: Graph
    seeds: Any
    walks: int | None = None
    backend: BackendSpec | None = None


def load_generate_spec(path: str | Path) -> GenerateSpec:
    path = Path(path)
    module = load_module(path)
    graph = getattr(module, "graph", None)
    if not isinstance(graph, Graph):
        got = "nothing" if graph is None else f"a {type(graph).__name__}"
        raise SpecError(f"{path}: `graph` is {got}; the spec must assign `graph = Graph(...)` at top level")
    if not hasattr(module, "seeds"):
        raise SpecError(f"{path}: defines no `seeds`; assign a list of {graph.source.__name__}, a JSONL/Parquet "
                        "path, or a Taxonomy")
    walks = getattr(module, "walks", None)
    if walks is not None and (not isinstance(walks, int) or walks < 1):
        raise SpecError(f"{path}: `walks` must be a positive int, got {walks!r}")
    backend = getattr(module, "backend", None)
    if backend is not None and not isinstance(backend, BackendSpec):
        raise SpecError(f"{path}: `backend` must be a BackendSpec, got {type(backend).__name__}")
    return GenerateSpec(path, graph, module.seeds, walks, backend)


def _rows_from_file(file: Path) -> list[dict[str, Any]]:
    """Seed rows from a file or folder in any format the record contract lists (JSONL, compressed or
    not, and Parquet; an engine dataset's `data/`)."""
    import pyarrow.parquet as pq

    from dataforge.core.records.files import open_text, record_files

    found = record_files(file)
    if not found:
        raise ForgeError(f"{file}: no seed records (JSONL, JSONL.gz/.bz2/.zst or Parquet, or a dataset directory)")
    rows: list[dict[str, Any]] = []
    for part in found.get("jsonl", []):
        with open_text(part) as f:
            for n, line in enumerate(f, 1):
                if line.strip():
                    try:
                        rows.append(json.loads(line))
                    except json.JSONDecodeError as e:
                        raise ForgeError(f"{part}:{n}: not valid JSON ({e.msg}); fix the line") from e
    for part in found.get("parquet", []):
        rows += pq.read_table(part).to_pylist()
    return rows


def seed_struct(src: type[Struct], r: Any, where: str) -> Struct:
    """One seed as the graph's source struct (fields it does not need are left behind); a one-line
    ForgeError naming `where` when it does not fit."""
    try:
        if isinstance(r, src):
            return r
        if isinstance(r, Struct):
            return convert(r, src)
        if isinstance(r, dict):
            return src.model_validate({k: v for k, v in r.items() if k in src.model_fields})
    except ValidationError as e:
        raise ForgeError(f"{where}: {validation_line(e, src.__name__)} (seeds must be {src.__name__})") from e
    raise ForgeError(f"{where}: a {type(r).__name__} is not a {src.__name__} or a dict")


def resolve_seeds(seeds: Any, graph: Graph, *, base: Path | None = None, backend_spec: BackendSpec | None = None
                  ) -> list[Struct]:
    """Turn a spec's `seeds` into source structs of the graph (validated; errors name the seed)."""
    src = graph.source
    if isinstance(seeds, Taxonomy):
        from dataforge.backends.registry import backend_for
        from dataforge.cache import CachedBackend, CallCache

        backend = CachedBackend(backend_for(backend_spec or BackendSpec()), CallCache())
        raw: list[Any] = list(seeds.expand(backend))
        where = f"taxonomy {seeds.domain!r}"
    elif isinstance(seeds, (str, Path)):
        file = Path(seeds)
        if not file.is_absolute() and base is not None:
            file = base / file
        if not file.exists():
            raise ForgeError(f"{file}: seed file not found (paths are relative to the spec file)")
        raw, where = _rows_from_file(file), str(file)
    elif isinstance(seeds, (list, tuple)):
        raw, where = list(seeds), "seeds"
    else:
        raise ForgeError(f"seeds: a {type(seeds).__name__} is not a seed source; use a list, a path or a Taxonomy")
    out = [seed_struct(src, r, f"{where}[{i}]") for i, r in enumerate(raw)]
    if not out:
        raise ForgeError(f"{where}: no seeds")
    return out
