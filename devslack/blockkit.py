"""Reading Block Kit payloads: find interactive elements and encode a user's input as Slack does."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

from devslack.models import JsonDict

SINGLE_OPTION = {"static_select", "radio_buttons", "overflow", "external_select"}
MULTI_OPTIONS = {"multi_static_select", "checkboxes", "multi_external_select"}
TEXT_VALUE = {
    "plain_text_input",
    "email_text_input",
    "url_text_input",
    "number_input",
    "button",
    "workflow_button",
}
# Element type -> (state key, initial_* key) for the pickers that return a bare id or string.
PICKED_VALUE = {
    "users_select": ("selected_user", "initial_user"),
    "multi_users_select": ("selected_users", "initial_users"),
    "conversations_select": ("selected_conversation", "initial_conversation"),
    "multi_conversations_select": ("selected_conversations", "initial_conversations"),
    "channels_select": ("selected_channel", "initial_channel"),
    "multi_channels_select": ("selected_channels", "initial_channels"),
    "datepicker": ("selected_date", "initial_date"),
    "timepicker": ("selected_time", "initial_time"),
    "datetimepicker": ("selected_date_time", "initial_date_time"),
}


def iter_elements(blocks: list[JsonDict]) -> Iterator[tuple[int, JsonDict, JsonDict]]:
    """(block index, block, element) for every interactive element in the blocks."""
    for index, block in enumerate(blocks):
        kind = block.get("type")
        if kind in ("actions", "context_actions"):
            for element in block.get("elements") or []:
                if isinstance(element, dict) and "action_id" in element:
                    yield index, block, element
        elif kind == "section" and isinstance(block.get("accessory"), dict):
            yield index, block, block["accessory"]
        elif kind == "input" and isinstance(block.get("element"), dict):
            yield index, block, block["element"]


def block_id_of(index: int, block: JsonDict) -> str:
    """The block's id; Slack invents one when the app gave none, so the fake does too."""
    return str(block.get("block_id") or f"fake_block_{index}")


def find_element(blocks: list[JsonDict], action_id: str) -> tuple[str, JsonDict] | None:
    """(block_id, element) of the first element with this action_id, or None."""
    for index, block, element in iter_elements(blocks):
        if element.get("action_id") == action_id:
            return block_id_of(index, block), element
    return None


def _options(element: JsonDict) -> list[JsonDict]:
    options = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        options.extend(group.get("options") or [])
    return options


def _option(element: JsonDict, value: Any) -> JsonDict:
    if element.get("type") in ("external_select", "multi_external_select"):
        # External selects have no options in the payload; Slack echoes what the user picked.
        return {"text": {"type": "plain_text", "text": str(value)}, "value": str(value)}
    for option in _options(element):
        if option.get("value") == value:
            return copy.deepcopy(option)
    known = [o.get("value") for o in _options(element)]
    raise ValueError(f"{element.get('action_id')!r} has no option {value!r} (options: {known})")


def selection(element: JsonDict, value: Any) -> JsonDict:
    """What Slack reports for `element` holding `value` (None = untouched: the initial value, or empty)."""
    kind = str(element.get("type"))
    if kind in SINGLE_OPTION:
        if value is None:
            initial = element.get("initial_option")
            return {"selected_option": copy.deepcopy(initial) if initial else None}
        return {"selected_option": _option(element, value)}
    if kind in MULTI_OPTIONS:
        if value is None:
            return {"selected_options": copy.deepcopy(element.get("initial_options") or [])}
        values = [value] if isinstance(value, str) else list(value)
        return {"selected_options": [_option(element, v) for v in values]}
    if kind in PICKED_VALUE:
        state_key, initial_key = PICKED_VALUE[kind]
        empty: Any = [] if state_key.endswith("s") else None
        picked = element.get(initial_key, empty) if value is None else value
        return {state_key: copy.deepcopy(picked)}
    if value is None:
        value = element.get("initial_value", element.get("value") if kind in TEXT_VALUE else None)
    return {"value": None if value is None else str(value)}


def text_of(obj: Any) -> str:
    """The string inside a text object (or the value itself)."""
    if isinstance(obj, dict):
        return str(obj.get("text", ""))
    return "" if obj is None else str(obj)


def _rich_text(elements: Any) -> str:
    parts: list[str] = []
    for element in elements or []:
        if not isinstance(element, dict):
            continue
        if "elements" in element:
            parts.append(_rich_text(element["elements"]))
        elif element.get("type") == "user":
            parts.append(f"<@{element.get('user_id')}>")
        elif element.get("type") in ("link", "emoji"):
            parts.append(str(element.get("text") or element.get("url") or f":{element.get('name')}:"))
        else:
            parts.append(str(element.get("text", "")))
    return "".join(parts)


def _element_label(element: JsonDict) -> str:
    kind = element.get("type")
    if kind == "button":
        return f"[{text_of(element.get('text'))}]"
    if kind == "overflow":
        return "[...]"
    placeholder = text_of(element.get("placeholder")) or str(kind)
    return f"[{placeholder} v]"


def block_lines(blocks: list[JsonDict]) -> list[str]:
    """Readable lines for a list of blocks: texts, context, fields and [button labels]."""
    lines: list[str] = []
    for block in blocks:
        kind = block.get("type")
        if kind == "header":
            lines.append(f"== {text_of(block.get('text'))} ==")
        elif kind in ("section", "markdown"):
            text = text_of(block.get("text"))
            if text:
                lines.extend(text.splitlines())
            lines.extend(text_of(f) for f in block.get("fields") or [])
            if isinstance(block.get("accessory"), dict) and "action_id" in block["accessory"]:
                lines.append(_element_label(block["accessory"]))
        elif kind == "context":
            texts = [text_of(e) or f"({e.get('alt_text', 'image')})" for e in block.get("elements") or []]
            lines.append(" | ".join(t for t in texts if t))
        elif kind in ("actions", "context_actions"):
            lines.append(" ".join(_element_label(e) for e in block.get("elements") or []))
        elif kind == "divider":
            lines.append("-" * 20)
        elif kind == "rich_text":
            lines.extend(_rich_text(block.get("elements")).splitlines())
        elif kind == "input":
            lines.append(f"{text_of(block.get('label'))}: {_element_label(block.get('element') or {})}")
        elif kind == "image":
            lines.append(f"(image: {block.get('alt_text', '')})")
    return lines
