"""Helpers shared by the test modules."""
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]


def load_script(relative: str, name: str | None = None) -> ModuleType:
    """A script of the repository (``benchmarks/x.py``, ``examples/y.py``) imported as a module, registered
    in ``sys.modules`` under ``name`` (default: its file name) because dataclasses look their module up."""
    path = ROOT / relative
    spec = importlib.util.spec_from_file_location(name or path.stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module
