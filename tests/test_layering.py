"""The package's layers import only downwards: a test walks every module's imports (top-level and inside functions)."""
import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "freqaug"
BASE = {"_checks", "_files", "_json", "_progress", "_version", "runtime"}  # plain helpers every layer may use
ALLOWED = {  # layer -> the layers it may import (besides itself and BASE)
    "bands": set(),
    "data": {"bands"},
    "metrics": {"bands", "data"},
    "viz": {"bands", "data"},
    "models": {"bands", "data"},
    "bundle": {"bands", "data", "models"},
    "train": {"bands", "data", "models", "bundle", "metrics", "viz"},
    "offline": {"bands", "data", "models", "bundle", "viz"},
    "augment": {"bands", "data", "models", "bundle"},
}
APPS = {"cli", "demo", "evaluate", "__init__", "__main__"}  # the top: may import anything


def layer_of(path: Path) -> str:
    relative = path.relative_to(PACKAGE)
    return relative.parts[0] if len(relative.parts) > 1 else relative.stem


def imported_layers(path: Path) -> set[tuple[str, int]]:
    """(layer, line) of every ``freqaug.X`` import in the file, relative imports resolved."""
    package = ".".join(("freqaug", *path.relative_to(PACKAGE).parent.parts))
    return imports_in(path.read_text(), package)


def imports_in(source: str, package: str) -> set[tuple[str, int]]:
    """(layer, line) of every ``freqaug.X`` import in ``source``, a module of ``package``."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, module] if module else base)
            names = [module] + [f"{module}.{alias.name}" for alias in node.names if module == "freqaug"]
        for name in names:
            parts = name.split(".")
            if parts[0] == "freqaug" and len(parts) > 1:
                found.add((parts[1], node.lineno))
    return found


MODULES = sorted(p for p in PACKAGE.rglob("*.py") if layer_of(p) not in APPS)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_imports_a_higher_layer(path):
    layer = layer_of(path)
    allowed = {layer} | BASE | ALLOWED.get(layer, set())
    upward = sorted((name, line) for name, line in imported_layers(path) if name not in allowed)
    assert not upward, f"{path.relative_to(PACKAGE)} ({layer}) imports higher layers: {upward}"


def test_every_layer_is_known():
    assert {layer_of(p) for p in MODULES} <= set(ALLOWED) | BASE
    assert {layer_of(p) for p in MODULES} >= set(ALLOWED)


def test_the_walker_sees_function_level_and_relative_imports():
    source = "def f():\n    from freqaug.train import Trainer\nfrom ..augment import core\nimport freqaug.viz\n"
    assert {name for name, _ in imports_in(source, "freqaug.bands")} == {"train", "augment", "viz"}
