"""The shared core every layer imports: records, manifests and atomic commits, the Spark session,
embedded-model resolution, spec loading and hashing. The core imports no layer."""

from dataforge.core.commit import atomic_dir, atomic_write_json, atomic_write_text
from dataforge.core.errors import ForgeError, SpecError
from dataforge.core.hashing import canonical_json, sha256_file, stable_hash, text_id
from dataforge.core.manifest import Manifest, is_dataset_dir
from dataforge.core.outputs import claim_output, preflight
from dataforge.core.records import CHAT_SCHEMA, TEXT_SCHEMA, ChatRecord, TextRecord
from dataforge.core.secrets import Secret, redact, redact_text

__all__ = [
    "CHAT_SCHEMA", "TEXT_SCHEMA", "ChatRecord", "ForgeError", "Manifest", "Secret", "SpecError", "TextRecord",
    "atomic_dir", "atomic_write_json", "atomic_write_text", "canonical_json", "claim_output", "is_dataset_dir",
    "preflight", "redact", "redact_text", "sha256_file", "stable_hash", "text_id",
]
