"""The optional semantic backend (`[stories] embeddings`): a static embedding model read from a
folder, tested with a TINY model these tests write in Model2Vec's format (a `tokenizers` file and
a safetensors matrix): its vectors, its formats, a bad folder as a config error, and its cosine
deciding a join through a real run and `newsmon stories group` alike."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import numpy as np
import pytest

pytest.importorskip("tokenizers")

from pipeline.config import parse_config  # noqa: E402
from pipeline.errors import ConfigError  # noqa: E402
from pipeline.stages import embeddings, stories  # noqa: E402
from pipeline.stages.storymodel import FEATURES, SEMANTIC_MODEL_PATH, StoryModel, semantic_model  # noqa: E402

# Words of three concepts in English, German and Ukrainian: a concept's words share one vector,
# so two reports of one event in other words (or languages) have cosine 1, of two events 0.
CONCEPTS = {
    "strike": "drone drones strike attack angriff drohnen удар дронів",
    "city": "kharkiv charkiw харків харкові",
    "talks": "talks negotiations gespräche переговори",
    "grain": "grain wheat exports getreide зерно",
}
T = datetime(2026, 3, 10, 9, 0, tzinfo=timezone.utc)


def write_safetensors(path: Path, tensors: dict[str, np.ndarray]) -> None:
    """A .safetensors file: an 8-byte header length, a JSON header, the raw little-endian data."""
    header, blobs, offset = {}, [], 0
    codes = {np.dtype(np.float32): "F32", np.dtype(np.int8): "I8", np.dtype(np.int64): "I64"}
    for name, array in tensors.items():
        data = np.ascontiguousarray(array).tobytes()
        header[name] = {"dtype": codes[array.dtype], "shape": list(array.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def tiny_model(folder: Path, quantised: bool = False, npy: bool = False) -> Path:
    """A static model of ~30 words in 4 dimensions (one per concept); `quantised`: as the
    reference model stores it (int8 rows shared through `mapping`, a `weights` factor per token)."""
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel
    from tokenizers.normalizers import Lowercase
    from tokenizers.pre_tokenizers import Whitespace

    folder.mkdir(parents=True, exist_ok=True)
    vocab, concept_of = {"[UNK]": 0}, [None]
    for k, words in enumerate(CONCEPTS.values()):
        for w in words.split():
            vocab[w] = len(vocab)
            concept_of.append(k)
    tokenizer = Tokenizer(WordLevel(vocab, unk_token="[UNK]"))
    tokenizer.normalizer = Lowercase()
    tokenizer.pre_tokenizer = Whitespace()
    tokenizer.save(str(folder / "tokenizer.json"))
    dims = len(CONCEPTS)
    if quantised:
        rows = (np.eye(dims + 1, dims) * 100).astype(np.int8)          # row `dims`: the unknown token's
        mapping = np.array([dims if k is None else k for k in concept_of], dtype=np.int64)
        tensors = {"embeddings": rows, "mapping": mapping, "weights": np.full(len(vocab), 0.5, dtype=np.float32)}
    else:
        rows = np.zeros((len(vocab), dims), dtype=np.float32)
        for i, k in enumerate(concept_of):
            if k is not None:
                rows[i, k] = 1.0
        tensors = {"embeddings": rows}
    if npy:
        for name, array in tensors.items():
            np.save(folder / f"{name}.npy", array)
    else:
        write_safetensors(folder / "model.safetensors", tensors)
    (folder / "config.json").write_text('{"normalize": true}')
    return folder


def semantic_only(folder: Path) -> Path:
    """A model file for the tiny model (as `python -m bench stories --fit --embeddings DIR
    --model-out DIR/story_model.json` writes one): only the semantic cosine counts."""
    weights = [0.0] * len(FEATURES)
    weights[0], weights[FEATURES.index("semantic")] = -4.0, 8.0
    StoryModel(tuple(weights), 0.5, 0.5, 0.3, weights_textless=tuple(weights)).save(folder / "story_model.json")
    return folder


def test_a_reports_vector_is_the_unit_mean_of_its_known_tokens(tmp_path):
    model = embeddings.load(tiny_model(tmp_path / "m"))
    strike = model.vector("Drone strike", "on Kharkiv")
    assert strike.shape == (4,) and np.linalg.norm(strike) == pytest.approx(1.0)
    assert embeddings.cosine(strike, model.vector("Удар дронів", "по Харкову, unknown words")) > 0.7
    assert embeddings.cosine(strike, model.vector("Grain exports", "wheat")) == pytest.approx(0.0)
    assert model.vector("nothing known here") is None and embeddings.cosine(None, strike) == 0.0


@pytest.mark.parametrize("kind", ["quantised", "npy"])
def test_the_quantised_and_npy_forms_give_the_same_vectors(tmp_path, kind):
    plain = embeddings.load(tiny_model(tmp_path / "plain"))
    other = embeddings.load(tiny_model(tmp_path / kind, quantised=kind == "quantised", npy=kind == "npy"))
    for title, text in (("Drone strike on Kharkiv", ""), ("Gespräche über Getreide", "wheat talks")):
        assert other.vector(title, text) == pytest.approx(plain.vector(title, text), abs=1e-6)


def config_with(tmp_path: Path, folder: str) -> Path:
    path = tmp_path / "c.toml"
    path.write_text(f'[storage]\ndatabase = "never.db"\n\n[stories]\nembeddings = "{folder}"\n')
    return path


@pytest.mark.parametrize("make, says", [
    (lambda f: None, "is not a folder"),
    (lambda f: f.mkdir(), "has no tokenizer.json"),
    (lambda f: (f.mkdir(), (f / "tokenizer.json").write_text("{}")), "has no model.safetensors or embeddings.npy"),
    (lambda f: (f.mkdir(), (f / "tokenizer.json").write_text("{}"), (f / "model.safetensors").write_bytes(b"\x10" * 20)),
     "not a safetensors file"),
    (lambda f: (f.mkdir(), (f / "tokenizer.json").write_text("not json")), "is not a tokenizer file"),
])
def test_a_bad_model_folder_is_a_config_error_naming_file_line_and_key(tmp_path, make, says):
    make(tmp_path / "model")
    path = config_with(tmp_path, "model")
    with pytest.raises(ConfigError) as caught:
        parse_config(path.read_text(), path)
    assert caught.value.line == 5 and caught.value.key == "stories.embeddings" and says in caught.value.message
    done = subprocess.run([sys.executable, "-m", "pipeline", "stories", "group", "--config", str(path)],
                          input="", capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and f"{path}:5: stories.embeddings" in done.stderr and "Traceback" not in done.stderr


def test_a_folder_that_fails_only_when_loaded_is_still_a_config_error(tmp_path):
    """tokenizer.json is JSON but not a tokenizer: found when the model is loaded, not a traceback."""
    folder = tiny_model(tmp_path / "model")
    (folder / "tokenizer.json").write_text('{"not": "a tokenizer"}')
    path = config_with(tmp_path, "model")
    done = subprocess.run([sys.executable, "-m", "pipeline", "stories", "group", "--config", str(path)],
                          input=json.dumps({"id": "a", "title": "x", "published": T.isoformat()}) + "\n",
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "stories.embeddings" in done.stderr and "not a tokenizer file" in done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "never.db").exists()
    with path.open("a") as f:        # a run stops before its first feed, with the same error
        f.write('\n[[feeds]]\nname = "local"\nurl = "http://127.0.0.1:9/feed.xml"\n')
    ran = subprocess.run([sys.executable, "-m", "pipeline", "run", "--config", str(path)],
                         capture_output=True, text=True, timeout=120)
    assert ran.returncode == 2 and "stories.embeddings" in ran.stderr and "not a tokenizer file" in ran.stderr
    assert "Traceback" not in ran.stderr


def test_a_model_file_fitted_without_the_backend_gives_the_cosine_no_weight(tmp_path):
    data = json.loads(stories.MODEL_PATH.read_text())
    semantic = FEATURES.index("semantic")       # a file of the features before it (and those after it)
    data["features"] = data["features"][:semantic]
    data["weights"] = data["weights"][:semantic]
    data["weights_textless"] = data["weights_textless"][:semantic]
    (tmp_path / "old.json").write_text(json.dumps(data))
    old = StoryModel.load(tmp_path / "old.json")
    assert len(old.weights) == len(FEATURES) and old.weights[semantic] == 0.0 == old.weights_textless[semantic]
    assert old.weights[FEATURES.index("persons_conflict")] == 0.0
    shipped = StoryModel.load(SEMANTIC_MODEL_PATH)       # fitted with the reference model: it counts
    assert shipped.weights[FEATURES.index("semantic")] > 1 and shipped.weights_textless[FEATURES.index("semantic")] > 0


def test_a_model_folder_with_its_own_fit_uses_it(tmp_path):
    folder = tiny_model(tmp_path / "own")
    semantic_model.cache_clear()
    assert semantic_model(folder) == StoryModel.load(SEMANTIC_MODEL_PATH)      # no fit of its own
    semantic_only(folder)
    semantic_model.cache_clear()
    assert semantic_model(folder).join == 0.5 and semantic_model(folder) != StoryModel.load(SEMANTIC_MODEL_PATH)


REPORTS = [   # (id, outlet, title, text, hours after T): one strike told in three languages sharing no
              # word or name, and other news beside
    ("en", "wire", "Drone strike overnight", "Drones attack the city overnight.", 0),
    ("grain", "market", "Grain exports resume", "Wheat exports resume from the ports.", 1),
    ("de", "zeitung", "Drohnen Angriff", "Drohnen Angriff in der Nacht.", 2),
    ("uk", "pravda", "Удар дронів", "Удар дронів уночі.", 3),
]


def test_the_cosine_joins_reports_in_other_words_and_languages_and_only_with_the_backend(tmp_path):
    folder = semantic_only(tiny_model(tmp_path / "model"))
    semantic_model.cache_clear()
    reports = [SimpleNamespace(id=i, outlet=o, title=t, text=x, published=T + timedelta(hours=h))
               for i, o, t, x, h in REPORTS]
    zone = ZoneInfo("UTC")
    with_backend = dict(stories.group(reports, zone, embedder=embeddings.load(folder)))
    assert with_backend == {"en": "en", "grain": "grain", "de": "en", "uk": "en"}
    without = dict(stories.group(reports, zone))
    assert without["de"] != "en" and without["uk"] != "en"


def test_a_run_and_stories_group_use_the_backend_alike(site, make_config, clock, tmp_path):
    """A real run over loopback feeds with `[stories] embeddings` groups the three languages'
    reports of the strike; `newsmon stories group` with the same config gives the same stories."""
    from conftest import rows
    from test_stories import _serve

    from bench.storyset import Report
    from pipeline.app.pipeline import run_once

    folder = semantic_only(tiny_model(tmp_path / "model"))
    semantic_model.cache_clear()
    now = clock()
    feeds = [_serve(site, [Report(id=i, event="", outlet=o, published=now - timedelta(hours=6 - h), title=t,
                                  text=" ".join([x] * 12), lang="")], o) for i, o, t, x, h in REPORTS]
    config = make_config(feeds, f'\n[stories]\nembeddings = "{folder}"\n')
    assert config.embeddings == folder
    run_once(config, clock=clock, force=True)
    stored = rows(config, "SELECT id, title, text, feed, published, coalesce(story_id, id) FROM articles "
                          "WHERE duplicate_of IS NULL ORDER BY rowid")
    by_feed = {f: s for _, _, _, f, _, s in stored}
    assert len(stored) == 4 and by_feed["zeitung"] == by_feed["pravda"] == by_feed["wire"] != by_feed["market"]
    lines = "".join(json.dumps({"id": i, "title": t, "text": x, "outlet": f, "published": p}) + "\n"
                    for i, t, x, f, p, _ in stored)
    done = subprocess.run([sys.executable, "-m", "pipeline", "stories", "group", "--config", str(config.path)],
                          input=lines, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert {d["id"]: d["story"] for d in map(json.loads, done.stdout.splitlines())} == {i: s for i, *_, s in stored}
    joined = next(i for i, *_, s in stored if s == by_feed["wire"] and i != s)    # (feeds run concurrently)
    why = subprocess.run([sys.executable, "-m", "pipeline", "stories", "--why", joined, "--json", "--config",
                          str(config.path)], capture_output=True, text=True, timeout=120)
    assert why.returncode == 0, why.stderr                  # the explanation has the backend too
    said = json.loads(why.stdout)
    assert said["model_story"] == by_feed["wire"] and said["pair_features"]["semantic"] > 0.99


def test_a_headline_alone_is_scored_by_a_storys_two_closest_reports(tmp_path):
    """The headline link and threshold chosen on the tuning windows, kept in the model file."""
    model = stories.default_model()
    assert (model.link, model.link_textless, model.join_textless) == (0, 2, 0.74)
    assert stories._link([0.9, 0.8, 0.1, 0.1], 2) == pytest.approx(0.85)
    assert stories._link([0.9, 0.8, 0.1, 0.1], 0) == pytest.approx(0.475)
    model.save(tmp_path / "m.json")
    assert StoryModel.load(tmp_path / "m.json").link_textless == 2
