"""One way to read JSON text for every config class: errors name what was being read."""
from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any


def parse_json(text: str, what: str) -> Any:
    """``json.loads(text)``, raising ValueError("{what}: not valid JSON (...)") on bad text."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"{what}: not valid JSON ({err})") from None


def known_fields(data: Any, cls: type, what: str) -> dict[str, Any]:
    """``data`` as a dict if it is a mapping whose keys are all fields of dataclass ``cls``, else raise naming them."""
    if not isinstance(data, Mapping):
        raise TypeError(f"{what}: expected a mapping of fields, got {type(data).__name__}")
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ValueError(f"{what}: unknown field(s) {unknown}; expected some of {sorted(names)}")
    return dict(data)
