"""What a static embedding model folder must hold (`[stories] embeddings`), checked when the config
is read, without loading the model: the standard library only, so that reading a config stays
cheap and a wrong path or format is a config error naming the file, line and key, not a failure
in the middle of a run. embeddings.py loads the model and checks the rest (shapes, vocabulary)."""

from __future__ import annotations

import json
import struct
from pathlib import Path

SAFETENSORS_DTYPES = frozenset({"F32", "F16", "F64", "I8", "U8", "I16", "I32", "I64"})
_HEADER_LIMIT = 100_000_000      # a safetensors header is a few hundred bytes; more is not one


def safetensors_header(path: Path) -> dict:
    """The JSON header of a .safetensors file; ValueError when it is not one."""
    with path.open("rb") as f:
        start = f.read(8)
        if len(start) < 8:
            raise ValueError("not a safetensors file (too short)")
        (size,) = struct.unpack("<Q", start)
        if size > _HEADER_LIMIT:
            raise ValueError("not a safetensors file (no header)")
        try:
            header = json.loads(f.read(size))
        except (ValueError, UnicodeDecodeError):
            raise ValueError("not a safetensors file (no JSON header)") from None
    if not isinstance(header, dict):
        raise ValueError("not a safetensors file (no JSON header)")
    return header


def check_folder(folder: Path) -> str | None:
    """What is wrong with `folder` as a static embedding model, or None when it looks like one."""
    if not folder.is_dir():
        return f"{folder} is not a folder (expected a static embedding model: tokenizer.json and model.safetensors)"
    if not (folder / "tokenizer.json").is_file():
        return f"{folder} has no tokenizer.json (expected a static embedding model as Model2Vec saves it)"
    try:
        with (folder / "tokenizer.json").open(encoding="utf-8") as f:
            head = f.read(1)
    except (OSError, UnicodeDecodeError) as e:
        return f"{folder / 'tokenizer.json'}: cannot read it ({e})"
    if head != "{":
        return f"{folder / 'tokenizer.json'} is not a tokenizer file (expected JSON)"
    tensors = folder / "model.safetensors"
    if tensors.is_file():
        try:
            header = safetensors_header(tensors)
        except (OSError, ValueError) as e:
            return f"{tensors}: {e}"
        spec = header.get("embeddings")
        if not isinstance(spec, dict) or len(spec.get("shape", ())) != 2:
            return f"{tensors} has no 2-dimensional 'embeddings' tensor"
        if spec.get("dtype") not in SAFETENSORS_DTYPES:
            return f"{tensors}: 'embeddings' has an unsupported dtype {spec.get('dtype')!r}"
        return None
    if (folder / "embeddings.npy").is_file():
        return None
    return f"{folder} has no model.safetensors or embeddings.npy (expected a static embedding model as Model2Vec saves it)"
