"""Golden-file tests of the four digest formats (input: tests/golden.py; expected:
tests/data/golden/). After an intended change: `.venv/bin/python tests/golden.py --update`."""

from __future__ import annotations

import pytest
from golden import DAY, EXPECTED, FORMATS, rendered


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    return rendered(tmp_path_factory.mktemp("golden"))


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_digest_renders_exactly_as_reviewed(outputs, fmt):
    expected = (EXPECTED / f"{DAY}.{fmt}").read_text(encoding="utf-8")
    assert outputs[fmt] == expected, "regenerate with `.venv/bin/python tests/golden.py --update` if intended"
