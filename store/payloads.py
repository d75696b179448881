"""The outbox's JSON payloads, written and read back in this one place.

A payload is a frozen dataclass. It is stored as a JSON object of its fields, plus a `"type"` key naming
its kind when the class has a `tag` class variable. Reading goes by the field annotations, so enums,
datetimes and durations come back as what they were. Keys a class does not know are ignored and fields
with defaults may be missing: rows written by an older version of the bot still read.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from collections.abc import Mapping
from datetime import datetime, timedelta
from enum import Enum
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

__all__ = ["TAG_KEY", "PayloadError", "decode", "decode_as", "encode", "tag_of"]

TAG_KEY = "type"
T = TypeVar("T")


class PayloadError(ValueError):
    """A stored payload that does not fit the class it is read as (or names no known kind)."""


def encode(payload: DataclassInstance | None) -> str:
    """The JSON text stored for `payload` (`{}` for none); keys sorted, so equal payloads store equal text."""
    if payload is None:
        return "{}"
    data: dict[str, Any] = {field.name: _plain(getattr(payload, field.name))
                            for field in dataclasses.fields(payload)}
    tag = getattr(type(payload), "tag", None)
    if tag is not None:
        data[TAG_KEY] = str(tag)
    return json.dumps(data, sort_keys=True)


def tag_of(text: str) -> str | None:
    """The kind named by a stored payload, or None if it names none."""
    data = _object(text)
    tag = data.get(TAG_KEY)
    return None if tag is None else str(tag)


def decode(text: str, kinds: Mapping[str, type[T]]) -> T:
    """Read a tagged payload as the class its `"type"` names; PayloadError if it names none of `kinds`."""
    data = _object(text)
    cls = kinds.get(str(data.get(TAG_KEY)))
    if cls is None:
        raise PayloadError(f"unknown payload type {data.get(TAG_KEY)!r}")
    return _build(cls, data)


def decode_as(text: str, cls: type[T]) -> T:
    """Read an untagged payload as `cls`."""
    return _build(cls, _object(text))


def _object(text: str) -> dict[str, Any]:
    try:
        data = json.loads(text or "{}")
    except json.JSONDecodeError as exc:
        raise PayloadError(f"payload is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise PayloadError("payload is not a JSON object")
    return data


def _plain(value: object) -> object:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, tuple | list):
        return [_plain(item) for item in value]
    return value


_FIELDS: dict[type, tuple[tuple[dataclasses.Field[Any], Any], ...]] = {}


def _fields(cls: type) -> tuple[tuple[dataclasses.Field[Any], Any], ...]:
    """A payload class's fields with their resolved annotations (resolved once per class, not per row)."""
    known = _FIELDS.get(cls)
    if known is None:
        if not dataclasses.is_dataclass(cls):
            raise TypeError(f"{cls!r} is not a dataclass")
        hints = typing.get_type_hints(cls)
        known = _FIELDS[cls] = tuple((field, hints[field.name]) for field in dataclasses.fields(cls) if field.init)
    return known


def _build(cls: type[T], data: Mapping[str, Any]) -> T:
    values: dict[str, Any] = {}
    for field, hint in _fields(cls):
        if field.name not in data:
            if field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
                raise PayloadError(f"{cls.__name__} payload lacks {field.name!r}")
            continue
        values[field.name] = _value(hint, data[field.name], f"{cls.__name__}.{field.name}")
    return cls(**values)


def _value(hint: Any, raw: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    if origin is typing.Union or origin is types.UnionType:
        options = [option for option in typing.get_args(hint) if option is not type(None)]
        if raw is None:
            return None
        if len(options) != 1:
            raise TypeError(f"{where}: only `X | None` unions are supported")
        return _value(options[0], raw, where)
    if origin is tuple:
        if not isinstance(raw, list | tuple):
            raise PayloadError(f"{where}: expected a list, got {raw!r}")
        item_hint = typing.get_args(hint)[0]
        return tuple(_value(item_hint, item, where) for item in raw)
    try:
        if isinstance(hint, type) and issubclass(hint, Enum):
            return hint(raw)
        if hint is datetime:
            return datetime.fromisoformat(str(raw))
        if hint is timedelta:
            return timedelta(seconds=float(raw))
    except ValueError as exc:
        raise PayloadError(f"{where}: {exc}") from None
    if hint is bool or hint is str:
        if not isinstance(raw, hint):
            raise PayloadError(f"{where}: expected {hint.__name__}, got {raw!r}")
        return raw
    if hint is int:
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise PayloadError(f"{where}: expected an integer, got {raw!r}")
        return raw
    raise TypeError(f"{where}: cannot read a {hint!r} from JSON")
