"""The duplicate index over the stored seeds and original articles, built at start-up."""

from __future__ import annotations

from ..stages.dedup import SIGNATURE_VERSION, DuplicateIndex, Indexed, signature
from ..storage.store import Store


def open_index(store: Store) -> DuplicateIndex:
    """The index over a Store's seeds and original articles.

    Signatures are read from the store; missing ones, or ones computed another way (another
    SIGNATURE_VERSION), are computed from the stored text and saved, so the next start is fast.
    """
    index = DuplicateIndex(store.text_of)
    items, fingerprints, blobs, recomputed = [], [], [], []
    for row in store.index_rows():
        blob = row["minhash"]
        if row["version"] != SIGNATURE_VERSION:
            sig = signature(store.text_of(row["key"]) or "")
            blob = None if sig is None else sig.tobytes()
            recomputed.append((row["key"], SIGNATURE_VERSION, blob))
        items.append(Indexed(row["key"], row["ref"], row["kind"], row["first_seen"], row["story_id"]))
        fingerprints.append(row["fingerprint"])
        blobs.append(blob)
    if recomputed:
        with store.transaction():
            store.save_signatures(recomputed)
    index.load(items, fingerprints, blobs)
    return index
