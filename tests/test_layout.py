"""The layout STYLE.md asks for: one package per domain whose dependencies point one way, and a
core that imports none of its edges (api/, workflows/, the command line)."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Lower layers first. A package may import its own layer or a lower one, never a higher one.
LAYERS = [
    {
        "models",
        "closeloop.config",
        "closeloop.errors",
        "closeloop.text",
        "closeloop.labels",
        "closeloop.clock",
        "closeloop.db",
        "closeloop.core_writes",
        "closeloop.templating",
        "closeloop.pdf",
        "closeloop.xlsx_stream",
        "closeloop.sqlite_locking",
        "closeloop",
    },
    {"closeloop.auth"},
    {"closeloop.calendar", "closeloop.org", "closeloop.geo"},
    {"notifications"},
    {"closeloop.cases"},
    {"closeloop.imports", "closeloop.letters"},
    {"closeloop.safety"},
    {"closeloop.escalation"},
    {"closeloop.reports"},
    {"closeloop.maps"},
    {"closeloop.demo", "closeloop.backup"},
]
EDGES = {"api", "workflows", "cli"}


def _package(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "closeloop" and len(parts) > 1 else parts[0]


def _layer(package: str) -> int:
    for i, layer in enumerate(LAYERS):
        if package in layer:
            return i
    raise AssertionError(f"{package} is in no layer of tests/test_layout.py: place it there")


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return found


def _core_files() -> list[Path]:
    files = [*ROOT.glob("closeloop/**/*.py"), *ROOT.glob("notifications/**/*.py")]
    return [*files, *(p for p in ROOT.glob("models/*.py"))]


def test_the_core_imports_none_of_its_edges() -> None:
    wrong = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in _core_files()
        for name in _imports(path)
        if name.split(".")[0] in EDGES
    ]
    assert wrong == []


def test_dependencies_between_domain_packages_point_one_way() -> None:
    wrong = []
    for path in _core_files():
        own = _package(".".join(path.relative_to(ROOT).with_suffix("").parts))
        for name in _imports(path):
            if name.split(".")[0] not in {"closeloop", "notifications", "models"}:
                continue
            target = _package(name)
            if target != own and _layer(target) > _layer(own):
                wrong.append(f"{path.relative_to(ROOT)} ({own}) imports {name} ({target})")
    assert wrong == []


def test_the_layer_table_rejects_an_upward_import() -> None:
    # The rule above can fail: cases sits below letters, so cases importing letters is refused.
    assert _layer("closeloop.letters") > _layer("closeloop.cases")
    assert _layer(_package("closeloop.reports.metrics.service")) > _layer("closeloop.escalation")
