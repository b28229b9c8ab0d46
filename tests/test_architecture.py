"""The package's floors (README, "Architecture"): a module imports only from floors below its own,
at module level or inside a function alike, so that a low module never pulls in torch, the data
registry or the widgets."""
import ast
import os

import pytest

import defocus_lab

ROOT = os.path.dirname(defocus_lab.__file__)

# lowest first; a module may import its own floor's siblings only when listed in SAME_FLOOR_OK
FLOORS = [
    {"conventions", "labserver"},
    {"_validate", "_cache", "_cancel"},
    {"types"},
    {"kernels"},
    {"edges", "data", "render", "metrics"},
    {"synth"},
    {"models"},
    {"estimate", "propagate"},
    {"apps"},
    {"pipeline"},
    {"experiments"},
    {"ui", "warmup", "sweep"},
    {"cli"},
    {"__init__"},
]
FLOOR = {name: k for k, names in enumerate(FLOORS) for name in names}


def _room(relpath: str) -> str:
    """The top-level room of a module path relative to the package ('estimate/karaali.py' -> 'estimate')."""
    first = relpath.split(os.sep)[0]
    return first[:-3] if first.endswith(".py") else first


def _imports(path, relpath):
    """(line, room) of every package module that ``path`` imports."""
    with open(path) as f:
        tree = ast.parse(f.read())
    pkg_parts = relpath.split(os.sep)[:-1]  # the package the file lives in, relative to the root
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg_parts[: len(pkg_parts) - (node.level - 1)] if node.level > 1 else pkg_parts
                if node.level - 1 > len(pkg_parts):
                    continue
                target = base + (node.module.split(".") if node.module else [])
                if not target:  # "from .. import data, metrics": each name is a room
                    for alias in node.names:
                        yield node.lineno, alias.name
                    continue
                yield node.lineno, target[0]
            elif node.module and node.module.startswith("defocus_lab"):
                parts = node.module.split(".")
                if len(parts) > 1:
                    yield node.lineno, parts[1]
                else:
                    for alias in node.names:
                        yield node.lineno, alias.name
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "defocus_lab" and len(parts) > 1:
                    yield node.lineno, parts[1]


def _modules():
    for dirpath, _, files in os.walk(ROOT):
        for f in files:
            if f.endswith(".py"):
                path = os.path.join(dirpath, f)
                yield path, os.path.relpath(path, ROOT)


def test_every_room_has_a_floor():
    rooms = {_room(rel) for _, rel in _modules()}
    assert rooms <= set(FLOOR), f"rooms without a floor: {rooms - set(FLOOR)}"


def test_no_module_imports_from_a_floor_above_it():
    bad = []
    for path, rel in _modules():
        room = _room(rel)
        for line, target in _imports(path, rel):
            if target == room or target not in FLOOR:
                continue
            if FLOOR[target] >= FLOOR[room]:
                bad.append(f"{rel}:{line} ({room}, floor {FLOOR[room]}) imports {target} (floor {FLOOR[target]})")
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("source, room", [
    ("from ..models.karaali import X\n", "models"),
    ("from .. import data, metrics\n", "data"),
    ("import defocus_lab.ui\n", "ui"),
])
def test_the_import_reader_sees_relative_and_absolute_imports(tmp_path, source, room):
    """The checker itself can fail: it finds an upward import written each way."""
    p = tmp_path / "mod.py"
    p.write_text(source)
    assert room in {t for _, t in _imports(str(p), os.path.join("synth", "mod.py"))}
