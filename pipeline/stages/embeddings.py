"""An optional semantic backend for the story stage: a static sentence-embedding model read from a
folder the operator provides (`[stories] embeddings = "<path>"`), never downloaded.

Why static: a static model (Model2Vec's format: a tokenizer and one vector per token, a report's
vector the weighted mean of its tokens') costs a tokenizer pass and a few hundred lookups per
report, well under a millisecond, where a transformer such as multilingual-e5-small costs ~160 ms
per report on two cores. Its cosine says "these two tell of the same thing in other words" (or
in another language, for a multilingual model), which shared stemmed words cannot.

The folder holds, as Model2Vec writes it:
- `tokenizer.json`: a Hugging Face `tokenizers` file (read by the `tokenizers` library, the
  optional extra `newsmon[embeddings]`);
- `model.safetensors` with the tensor `embeddings` (rows x dims; float32, float16 or int8), and
  optionally `mapping` (token id -> row: a vocabulary quantised to fewer rows) and `weights` (one
  factor per token id); or the same as `embeddings.npy` (and `mapping.npy`, `weights.npy`);
- optionally `config.json` (Model2Vec's; `normalize` is implied: the stage compares cosines).

A folder that is not one of these raises EmbeddingsError saying what is missing or wrong; the
config reader turns it into an error naming the file, line and key.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..modelfolder import check_folder, safetensors_header

TEXT_WORDS = 80                 # what is embedded: the title and the text's first words (the lead)
MAX_TOKENS = 256                # tokens of that kept (the lead is what tells the event)
_DTYPES = {"F32": np.float32, "F16": np.float16, "F64": np.float64, "I8": np.int8, "U8": np.uint8,
           "I16": np.int16, "I32": np.int32, "I64": np.int64}


class EmbeddingsError(ValueError):
    """A model folder that cannot be used, with what is wrong in it."""


@dataclass(frozen=True, eq=False)
class StaticEmbedder:
    """A static sentence-embedding model: `vector(title, text)` is a unit vector (or None for a
    report with no known token)."""

    path: Path
    tokenizer: object               # tokenizers.Tokenizer
    rows: np.ndarray                # (rows, dims), as stored
    mapping: np.ndarray | None      # token id -> row, or None (row = token id)
    weights: np.ndarray | None      # token id -> factor, or None
    unknown: int | None             # the tokenizer's unknown token id, left out of the mean

    @property
    def dims(self) -> int:
        return int(self.rows.shape[1])

    def vector(self, title: str, text: str = "") -> np.ndarray | None:
        words = text.split(maxsplit=TEXT_WORDS)[:TEXT_WORDS]
        ids = self.tokenizer.encode(" ".join([title, *words]), add_special_tokens=False).ids[:MAX_TOKENS]
        ids = np.array([i for i in ids if i != self.unknown and i < self.vocabulary], dtype=np.int64)
        if not len(ids):
            return None
        rows = self.rows[self.mapping[ids] if self.mapping is not None else ids].astype(np.float32)
        if self.weights is not None:
            rows *= self.weights[ids, None]
        mean = rows.mean(axis=0)
        norm = float(np.linalg.norm(mean))
        return mean / norm if norm > 0 else None

    @property
    def vocabulary(self) -> int:
        return len(self.mapping) if self.mapping is not None else int(self.rows.shape[0])


def cosine(a: np.ndarray | None, b: np.ndarray | None) -> float:
    """The cosine of two unit vectors; 0.0 when either report has none."""
    return float(np.dot(a, b)) if a is not None and b is not None else 0.0


# Candidate keys from a vector (random-hyperplane LSH): BANDS keys of BITS sign bits each, so that
# a report in other words or another language, sharing no word or name, is still compared (the
# stage finds candidates by shared keys). Two reports at cosine 0.7 share a key with probability
# ~0.86, at 0.3 with ~0.2; a key in more than COMMON_KEY of the window finds none.
BANDS, BITS = 10, 6


@lru_cache(maxsize=4)
def _hyperplanes(dims: int) -> np.ndarray:
    return np.random.default_rng(28).standard_normal((dims, BANDS * BITS)).astype(np.float32)


def semantic_keys(vector: np.ndarray) -> list[str]:
    bits = (vector @ _hyperplanes(len(vector)) > 0).reshape(BANDS, BITS)
    return [f"s{band}:" + "".join("1" if b else "0" for b in row) for band, row in enumerate(bits)]


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """The tensors of a .safetensors file (an 8-byte header length, a JSON header, raw data),
    read with numpy alone."""
    try:
        header = safetensors_header(path)
    except ValueError as e:
        raise EmbeddingsError(f"{path}: {e}") from None
    size = path.open("rb").read(8)
    data = memoryview(path.read_bytes())[8 + struct.unpack("<Q", size)[0]:]
    out = {}
    for name, spec in header.items():
        if name == "__metadata__":
            continue
        if not isinstance(spec, dict) or spec.get("dtype") not in _DTYPES:
            raise EmbeddingsError(f"{path}: tensor {name!r} has an unsupported dtype")
        start, end = spec["data_offsets"]
        out[name] = np.frombuffer(data[start:end], dtype=_DTYPES[spec["dtype"]]).reshape(spec["shape"])
    return out


def _tensors(folder: Path) -> dict[str, np.ndarray]:
    if (folder / "model.safetensors").is_file():
        return read_safetensors(folder / "model.safetensors")
    if (folder / "embeddings.npy").is_file():
        return {name: np.load(folder / f"{name}.npy", allow_pickle=False)
                for name in ("embeddings", "mapping", "weights") if (folder / f"{name}.npy").is_file()}
    raise EmbeddingsError(f"{folder}: no model.safetensors or embeddings.npy (a static model folder, as Model2Vec saves it)")


def load(folder: str | Path) -> StaticEmbedder:
    """The model in `folder`, checked: EmbeddingsError says what is missing or inconsistent."""
    folder = Path(folder)
    problem = check_folder(folder)
    if problem:
        raise EmbeddingsError(problem)
    try:
        from tokenizers import Tokenizer
    except ImportError:
        raise EmbeddingsError("the embeddings backend needs the tokenizers library: "
                              "pip install 'newsmon[embeddings]'") from None
    try:
        tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    except Exception as e:        # the library raises its own Exception type for a bad file
        raise EmbeddingsError(f"{folder / 'tokenizer.json'}: not a tokenizer file ({str(e)[:200]})") from None
    try:
        tensors = _tensors(folder)
    except (OSError, ValueError) as e:
        raise EmbeddingsError(str(e) if isinstance(e, EmbeddingsError) else f"{folder}: cannot read the model ({e})") from None
    rows, mapping, weights = tensors.get("embeddings"), tensors.get("mapping"), tensors.get("weights")
    if rows is None or rows.ndim != 2 or not rows.shape[0] or not rows.shape[1]:
        raise EmbeddingsError(f"{folder}: no 2-dimensional 'embeddings' tensor in the model")
    vocabulary = len(mapping) if mapping is not None else rows.shape[0]
    if mapping is not None and (mapping.ndim != 1 or len(mapping) and (mapping.min() < 0 or mapping.max() >= rows.shape[0])):
        raise EmbeddingsError(f"{folder}: 'mapping' must give each token a row of 'embeddings' (0..{rows.shape[0] - 1})")
    if weights is not None and weights.shape != (vocabulary,):
        raise EmbeddingsError(f"{folder}: 'weights' has shape {weights.shape}, expected ({vocabulary},), one per token")
    if tokenizer.get_vocab_size() > vocabulary:
        raise EmbeddingsError(f"{folder}: the tokenizer has {tokenizer.get_vocab_size()} tokens, the model vectors "
                              f"for {vocabulary}: they are not one model")
    unknown = _unknown_id(tokenizer)
    return StaticEmbedder(folder, tokenizer, rows, None if mapping is None else mapping.astype(np.int64),
                          None if weights is None else weights.astype(np.float32), unknown)


def _unknown_id(tokenizer) -> int | None:
    for token in ("[UNK]", "<unk>", "<UNK>"):
        found = tokenizer.token_to_id(token)
        if found is not None:
            return found
    return None


@lru_cache(maxsize=2)
def cached(folder: str) -> StaticEmbedder:
    """The model of a folder, loaded once per process (a run, the daemon, `stories group`)."""
    return load(folder)
