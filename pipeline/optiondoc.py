"""The manual's table of options (docs/configuration.md), made from the options' declarations, so
the manual cannot drift from what the code checks (`python -m pipeline.options` prints it)."""

from __future__ import annotations

from typing import Any

from .options import OPTIONS


def _shown(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, float)):
        return f"{value:g}" if isinstance(value, float) else str(value)
    if isinstance(value, tuple):
        return "see `options.py`" if len(value) > 4 else ("`[" + ",".join(f'"{v}"' for v in value) + "]`" if value else "none")
    return f"`{value}`"


def options_table() -> str:
    """The manual's table of options (docs/configuration.md), made from OPTIONS (`python -m pipeline.options` prints it)."""
    rows = ["| section | key | default | meaning |", "|---|---|---|---|"]
    rows += [f"| {section} | {key} | {_shown(o.default)} | {o.meaning} |"
             for section, keys in OPTIONS.items() for key, o in keys.items()]
    return "\n".join(rows) + "\n"
