"""The layout stays true without anyone remembering it: each kind of module imports only downwards.

    vocabulary  records errors config settings options clock sanitize topics (no I/O)
    stages/     pure or I/O-edge stages                         -> vocabulary, stages
    storage/    the schema and its queries                      -> vocabulary, storage
    app/        the use-cases                                   -> vocabulary, stages, storage, app, helpers
    helpers     lock logs configedit opml                       -> vocabulary
    serve, cli/ the interfaces                                  -> vocabulary, app, helpers (cli: serve, demo, web)
    web/        the web interface (newsmon web)                 -> vocabulary, app, helpers, web

Checked on the source (ast), every import, including those inside functions.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "pipeline"
VOCABULARY = {"pipeline", "pipeline.records", "pipeline.errors", "pipeline.config", "pipeline.options", "pipeline.optiondoc", "pipeline.clock",
              "pipeline.files", "pipeline.modelfolder",
              "pipeline.sanitize", "pipeline.topics", "pipeline.channels", "pipeline.settings"}
HELPERS = {"pipeline.lock", "pipeline.logs", "pipeline.configedit", "pipeline.opml"}
ALLOWED = {
    "vocabulary": {"vocabulary"},
    "stages": {"vocabulary", "stages"},
    "storage": {"vocabulary", "storage"},
    "app": {"vocabulary", "stages", "storage", "app", "helpers"},
    "helpers": {"vocabulary"},
    "serve": {"vocabulary", "app", "helpers"},
    "demo": {"vocabulary", "app", "demo", "helpers"},
    "cli": {"vocabulary", "app", "helpers", "cli", "serve", "demo", "web"},
    "web": {"vocabulary", "app", "helpers", "web"},
}
MAX_LINES = 420


def layer(module: str) -> str:
    if module in VOCABULARY:
        return "vocabulary"
    if module in HELPERS:
        return "helpers"
    if module in ("pipeline.serve",):
        return "serve"
    if module == "pipeline.__main__":
        return "cli"
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "vocabulary"


def modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def imports(name: str, path: Path, top_level_only: bool = False) -> set[str]:
    """The pipeline modules `name` imports (what `from .x import y` names, when y is a module)."""
    tree = ast.parse(path.read_text())
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    known = modules()
    nodes = tree.body if top_level_only else ast.walk(tree)
    found = set()
    for node in nodes:
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("pipeline"):
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                found.add(sub if sub in known else target)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("pipeline"))
    return found - {name}


def test_every_import_points_down_the_layers():
    violations = []
    for name, path in sorted(modules().items()):
        for target in sorted(imports(name, path)):
            if layer(target) not in ALLOWED[layer(name)]:
                violations.append(f"{name} ({layer(name)}) imports {target} ({layer(target)})")
    assert violations == []


def test_no_import_cycle_at_module_level():
    graph = {name: imports(name, path, top_level_only=True) for name, path in modules().items()}
    state: dict[str, int] = defaultdict(int)      # 0 new, 1 on the stack, 2 done
    cycles = []

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state[nxt] == 1:
                cycles.append(" -> ".join(trail[trail.index(nxt):] + [nxt]))
            elif state[nxt] == 0:
                visit(nxt, trail + [nxt])
        state[node] = 2

    for name in sorted(graph):
        if state[name] == 0:
            visit(name, [name])
    assert cycles == []


def test_cli_holds_no_sql_and_reaches_into_no_private_names():
    problems = []
    for name, path in modules().items():
        if layer(name) not in ("cli", "serve", "web"):
            continue
        text = path.read_text()
        for keyword in ("SELECT ", "INSERT ", "UPDATE ", "DELETE FROM"):
            if keyword in text:
                problems.append(f"{name}: SQL ({keyword.strip()})")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ImportFrom):
                problems += [f"{name}: imports private {a.name}" for a in node.names
                             if a.name.startswith("_") and not a.name.startswith("__")]
            elif isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
                if not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")):
                    problems.append(f"{name}: reaches into .{node.attr}")
    assert problems == []


def test_no_module_is_a_thousand_lines_in_waiting():
    long = {name: n for name, path in modules().items() if (n := len(path.read_text().splitlines())) > MAX_LINES}
    assert long == {}


def test_the_rule_catches_an_upward_import(tmp_path):
    """The checker itself: a stage importing storage is reported."""
    assert layer("pipeline.stages.digest") == "stages" and layer("pipeline.storage.store") == "storage"
    assert "storage" not in ALLOWED["stages"] and "stages" not in ALLOWED["cli"]
    fake = tmp_path / "fake.py"
    fake.write_text("from ..storage.store import Store\nfrom ..records import Article\n")
    assert imports("pipeline.stages.fake", fake) == {"pipeline.storage.store", "pipeline.records"}
