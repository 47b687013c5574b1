"""The import rules of shared/DESIGN.md, read from the source: views -> services ->
store/catalog, never upward; the simulator stands apart from the app; only the Stripe client
package touches the Stripe SDK."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

DESKTOP = Path(__file__).resolve().parents[2] / "desktop"


def imports_of(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside a function (absolute names)."""
    package = ".".join(path.relative_to(DESKTOP.parent).with_suffix("").parts[:-1])
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolved against the file's package
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def modules(folder: str) -> list[Path]:
    return sorted((DESKTOP / folder).rglob("*.py"))


def offending(paths: list[Path], forbidden: tuple[str, ...]) -> list[str]:
    return [
        f"{path.relative_to(DESKTOP.parent)} imports {name}"
        for path in paths
        for name in sorted(imports_of(path))
        if any(name == f or name.startswith(f + ".") for f in forbidden)
    ]


RULES = {
    "views draw only: no database, driver or store": (
        modules("views"),
        ("peewee", "sqlite3", "playhouse", "psycopg", "psycopg2", "desktop.store"),
    ),
    "services never import views": (modules("services"), ("desktop.views", "desktop.app")),
    "the store imports nothing above it": (
        modules("store"),
        ("desktop.services", "desktop.views", "desktop.app"),
    ),
    "the catalog imports nothing above it": (
        [DESKTOP / "catalog.py"],
        ("desktop.services", "desktop.views", "desktop.store", "desktop.app"),
    ),
    "the simulator follows Stripe, not the app": (
        modules("simulator"),
        ("desktop.services", "desktop.store", "desktop.views", "desktop.app"),
    ),
    "only services/stripe talks to the Stripe SDK": (
        [
            p
            for p in DESKTOP.rglob("*.py")
            if not p.is_relative_to(DESKTOP / "services" / "stripe")
            and not p.is_relative_to(DESKTOP / "simulator")
        ],
        ("stripe",),
    ),
}


@pytest.mark.parametrize("rule", list(RULES))
def test_imports_point_downward(rule):
    paths, forbidden = RULES[rule]
    assert paths, rule
    assert offending(paths, forbidden) == []


def test_the_rules_see_an_import_inside_a_function():
    """The checker itself: a lazy import in a function body counts too."""
    view = DESKTOP / "views" / "registrations_page.py"
    assert "desktop.services.reading" in imports_of(view)
    sample = DESKTOP / "services" / "stripe" / "client.py"
    assert "stripe" in imports_of(sample)  # imported inside a method there
