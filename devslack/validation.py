"""The Block Kit limits Slack enforces server-side, so the fake rejects what Slack would."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from devslack.models import FakeSlackError, JsonDict

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_SECTION_TEXT = 3000
MAX_SECTION_FIELDS = 10
MAX_HEADER_TEXT = 150
MAX_ACTIONS_ELEMENTS = 25
MAX_CONTEXT_ELEMENTS = 10
MAX_VIEW_TITLE = 24
MAX_PRIVATE_METADATA = 3000
MAX_CALLBACK_ID = 255


def _text_of(obj: Any) -> str:
    if isinstance(obj, dict):
        return str(obj.get("text", ""))
    return "" if obj is None else str(obj)


def block_problems(blocks: Iterable[Any], *, max_blocks: int) -> list[str]:
    """Human-readable reasons Slack would reject these blocks (empty when they are fine)."""
    problems: list[str] = []
    block_list = list(blocks)
    if len(block_list) > max_blocks:
        problems.append(f"[ERROR] no more than {max_blocks} items allowed [json-pointer:/blocks]")
    seen_ids: set[str] = set()
    for i, block in enumerate(block_list):
        where = f"[json-pointer:/blocks/{i}]"
        if not isinstance(block, dict) or "type" not in block:
            problems.append(f"[ERROR] missing required field: type {where}")
            continue
        block_id = block.get("block_id")
        if block_id is not None:
            if block_id in seen_ids:
                problems.append(f"[ERROR] duplicate block_id {block_id!r} {where}")
            seen_ids.add(str(block_id))
        kind = block["type"]
        if kind == "section":
            if "text" not in block and "fields" not in block:
                problems.append(f"[ERROR] section needs text or fields {where}")
            if len(_text_of(block.get("text"))) > MAX_SECTION_TEXT:
                problems.append(f"[ERROR] must be less than {MAX_SECTION_TEXT + 1} characters {where}/text")
            if len(block.get("fields") or []) > MAX_SECTION_FIELDS:
                problems.append(f"[ERROR] no more than {MAX_SECTION_FIELDS} items allowed {where}/fields")
        elif kind == "header" and len(_text_of(block.get("text"))) > MAX_HEADER_TEXT:
            problems.append(f"[ERROR] must be less than {MAX_HEADER_TEXT + 1} characters {where}/text")
        elif kind == "actions" and not 1 <= len(block.get("elements") or []) <= MAX_ACTIONS_ELEMENTS:
            problems.append(f"[ERROR] actions needs 1..{MAX_ACTIONS_ELEMENTS} elements {where}/elements")
        elif kind == "context" and not 1 <= len(block.get("elements") or []) <= MAX_CONTEXT_ELEMENTS:
            problems.append(f"[ERROR] context needs 1..{MAX_CONTEXT_ELEMENTS} elements {where}/elements")
    return problems


def check_message_blocks(blocks: list[JsonDict]) -> None:
    """Raise invalid_blocks the way chat.postMessage / chat.update do."""
    problems = block_problems(blocks, max_blocks=MAX_MESSAGE_BLOCKS)
    if problems:
        raise FakeSlackError("invalid_blocks", messages=problems)


def check_view(view: JsonDict, *, expected_type: str | None) -> None:
    """Raise invalid_arguments for a view Slack would refuse to open, update or publish."""
    problems: list[str] = []
    kind = view.get("type")
    if expected_type is not None and kind != expected_type:
        problems.append(f"[ERROR] view type must be {expected_type!r} [json-pointer:/view/type]")
    blocks = view.get("blocks") or []
    problems.extend(block_problems(blocks, max_blocks=MAX_VIEW_BLOCKS))
    if kind == "modal":
        title = _text_of(view.get("title"))
        if not 1 <= len(title) <= MAX_VIEW_TITLE:
            problems.append(f"[ERROR] title must be 1..{MAX_VIEW_TITLE} characters [json-pointer:/view/title]")
        for key in ("submit", "close"):
            if len(_text_of(view.get(key))) > MAX_VIEW_TITLE:
                problems.append(f"[ERROR] {key} must be at most {MAX_VIEW_TITLE} characters")
        has_input = any(isinstance(b, dict) and b.get("type") == "input" for b in blocks)
        if has_input and not view.get("submit"):
            problems.append("[ERROR] must define `submit` when `input` blocks are present [json-pointer:/view]")
    elif kind == "home" and (view.get("submit") or view.get("close")):
        problems.append("[ERROR] home views cannot have submit or close [json-pointer:/view]")
    if len(str(view.get("private_metadata", ""))) > MAX_PRIVATE_METADATA:
        problems.append(f"[ERROR] private_metadata must be at most {MAX_PRIVATE_METADATA} characters")
    if len(str(view.get("callback_id", ""))) > MAX_CALLBACK_ID:
        problems.append(f"[ERROR] callback_id must be at most {MAX_CALLBACK_ID} characters")
    if problems:
        raise FakeSlackError("invalid_arguments", messages=problems)


def input_block_ids(view: JsonDict) -> set[str]:
    """block_ids of the view's input blocks (the only valid keys of `response_action: errors`)."""
    return {
        str(b["block_id"])
        for b in view.get("blocks") or []
        if isinstance(b, dict) and b.get("type") == "input" and "block_id" in b
    }
