"""The package type-checks: ``mypy freqaug`` (configured in pyproject.toml's [tool.mypy]) finds no errors."""
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_mypy_reports_no_errors():
    pytest.importorskip("mypy")
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "freqaug"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, f"mypy freqaug failed:\n{result.stdout}{result.stderr}"
