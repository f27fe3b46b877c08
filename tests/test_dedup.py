from pipeline.dedup import DuplicateIndex, canonical_url, identity_of
from pipeline.records import Article


def test_canonical_url_drops_tracking_parameters_fragment_and_default_port():
    assert canonical_url("HTTPS://Example.ORG:443/a/b?utm_source=rss&id=7&fbclid=x#top") == \
        "https://example.org/a/b?id=7"
    assert canonical_url("http://example.org") == "http://example.org/"


def test_identity_prefers_guid_then_url_then_hash():
    assert identity_of("f", "g1", "https://x/", "h") == "guid:f:g1"
    assert identity_of("f", None, "https://x/", "h") == "url:https://x/"
    assert identity_of("f", None, None, "h") == "hash:h"


def _article(fp: str) -> Article:
    return Article(identity="url:x", feed="f", guid=None, url="https://x/", canonical_url="https://x/",
                   title="t", published=None, text="body", text_source="page", fingerprint=fp)


def test_index_marks_exact_copies_with_what_they_copy():
    index = DuplicateIndex({"aaa": "seeds/000.txt"})
    assert index.check(_article("aaa")).duplicate_of == "seeds/000.txt"
    assert index.check(_article("aaa")).similarity == 1.0
    assert index.check(_article("bbb")).duplicate_of is None
    index.add("bbb", "https://first/")
    index.add("bbb", "https://second/")
    assert index.check(_article("bbb")).duplicate_of == "https://first/"
