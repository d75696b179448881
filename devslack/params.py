"""Reading Web API parameters from JSON or form bodies (where everything is a string)."""

from __future__ import annotations

import json
from typing import Any

from devslack.models import FakeSlackError, JsonDict


def param_str(params: JsonDict, key: str, *, required_error: str | None = None) -> str | None:
    """A string parameter, or raise `required_error` when it is missing."""
    value = params.get(key)
    if value is None or value == "":
        if required_error:
            raise FakeSlackError(required_error)
        return None
    return str(value)


def param_json(params: JsonDict, key: str) -> Any:
    """A structured parameter that form bodies send as a JSON string."""
    value = params.get(key)
    if isinstance(value, str):
        if not value:
            return None
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise FakeSlackError("invalid_json", messages=[f"[ERROR] {key}: {exc}"]) from exc
    return value


def param_bool(params: JsonDict, key: str) -> bool:
    """A boolean parameter ("true"/"1" in form bodies, slack_sdk sends 1/0)."""
    value = params.get(key)
    if isinstance(value, str):
        return value.lower() in ("1", "true", "yes")
    return bool(value)


def param_float(params: JsonDict, key: str) -> float | None:
    """A numeric parameter such as `oldest`/`latest` (a ts string)."""
    value = params.get(key)
    if value in (None, ""):
        return None
    try:
        return float(value)
    except (TypeError, ValueError) as exc:
        raise FakeSlackError("invalid_ts_" + key) from exc
