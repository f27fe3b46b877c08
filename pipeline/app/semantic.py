"""The optional semantic backend in a run, `newsmon stories group` and the explaining commands:
the model of `[stories] embeddings` loaded once, and a report's profile given its sentence vector.
Without the option nothing here loads numpy or a tokenizer."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from ..errors import ConfigError
from ..stages.profile import Profile


def embedder_of(config) -> object | None:
    """The config's embedding model (loaded once per process), or None. A folder that passed the
    config's check but cannot be loaded is a ConfigError naming the file and key."""
    return load_embedder(config.embeddings, config.path)


def load_embedder(folder: Path | None, config_path: Path | None = None) -> object | None:
    if folder is None:
        return None
    from ..stages.embeddings import EmbeddingsError, cached

    try:
        return cached(str(folder))
    except EmbeddingsError as e:
        raise ConfigError(str(e), file=str(config_path) if config_path else None, key="stories.embeddings") from None


def with_vector(profile: Profile, title: str, text: str, embedder) -> Profile:
    """The profile with the report's sentence vector (unchanged without a backend)."""
    if embedder is None or profile.vector is not None:
        return profile
    return replace(profile, vector=embedder.vector(title, text))


def model_for(embedder):
    """The fitted story model to use with this backend (or without one)."""
    from ..stages.storymodel import default_model, semantic_model

    return semantic_model(embedder.path) if embedder is not None else default_model()
