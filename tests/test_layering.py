"""The layering rule (docs/architecture.md): the core (``geo/``) imports neither the HTTP service (``api/``) nor
the maps (``maps/``), not even inside a function; the maps import no part of the service. Read from the source."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FORBIDDEN = {"geo": {"api", "maps"}, "maps": {"api"}}


def _imported(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_lower_layers_import_no_upper_one(package):
    files = sorted((REPO / package).rglob("*.py"))
    assert files
    offending = {
        str(path.relative_to(REPO)): sorted(_imported(path) & FORBIDDEN[package])
        for path in files
        if _imported(path) & FORBIDDEN[package]
    }
    assert offending == {}
