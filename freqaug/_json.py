"""One way to read JSON text for every config class: errors name what was being read."""
from __future__ import annotations

import json
from typing import Any


def parse_json(text: str, what: str) -> Any:
    """``json.loads(text)``, raising ValueError("{what}: not valid JSON (...)") on bad text."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"{what}: not valid JSON ({err})") from None
