"""views.open / push / update / publish, and what a user's submit or cancel does to the view stack."""

from __future__ import annotations

import copy
import json
import secrets
from typing import Any

from devslack.models import FakeSlackError, FakeView, JsonDict
from devslack.params import param_json, param_str
from devslack.state import FakeSlackState
from devslack.validation import check_view, input_block_ids

# Slack allows views.open plus at most two views.push.
MAX_STACK_DEPTH = 3


def _new_hash(state: FakeSlackState) -> str:
    return f"{int(state.now())}.{secrets.token_hex(4)}"


def _view_param(params: JsonDict) -> JsonDict:
    view = param_json(params, "view")
    if not isinstance(view, dict):
        raise FakeSlackError("invalid_arguments", messages=["[ERROR] missing required field: view"])
    return view


def _answer(state: FakeSlackState, view: FakeView) -> JsonDict:
    return {"ok": True, "view": view.to_api(team_id=state.team_id, bot_id=state.bot_id, app_id=state.app_id)}


def _check_external_id(state: FakeSlackState, external_id: str | None, *, own_id: str | None = None) -> None:
    if external_id and any(v.external_id == external_id and v.view_id != own_id for v in state.views.values()):
        raise FakeSlackError("duplicate_external_id")


def _open_stack(state: FakeSlackState, user: str) -> list[str]:
    """The user's stack of still-open modal ids (root first)."""
    return [vid for vid in state.view_stacks.get(user, []) if not state.views[vid].closed]


def views_open(state: FakeSlackState, params: JsonDict) -> JsonDict:
    """Open a modal with a fresh trigger."""
    view_dict = _view_param(params)
    check_view(view_dict, expected_type="modal")
    with state.lock:
        _check_external_id(state, view_dict.get("external_id"))
        trigger_id = param_str(params, "trigger_id") or ""
        user = state.consume_trigger(trigger_id)
        # A new modal from outside any modal starts a new stack.
        for vid in _open_stack(state, user):
            state.views[vid].closed = True
        view_id = state.next_id("V")
        view = FakeView(
            view_id=view_id,
            hash=_new_hash(state),
            user=user,
            view=copy.deepcopy(view_dict),
            trigger_id=trigger_id,
            root_view_id=view_id,
            external_id=view_dict.get("external_id"),
        )
        state.views[view_id] = view
        state.view_stacks[user] = [view_id]
        return _answer(state, view)


def push_view(state: FakeSlackState, user: str, view_dict: JsonDict, trigger_id: str | None) -> FakeView:
    """Put a view on top of the user's open stack (views.push or `response_action: push`)."""
    with state.lock:
        stack = _open_stack(state, user)
        if len(stack) >= MAX_STACK_DEPTH:
            raise FakeSlackError("push_limit_reached")
        _check_external_id(state, view_dict.get("external_id"))
        view_id = state.next_id("V")
        view = FakeView(
            view_id=view_id,
            hash=_new_hash(state),
            user=user,
            view=copy.deepcopy(view_dict),
            trigger_id=trigger_id,
            root_view_id=stack[0] if stack else view_id,
            previous_view_id=stack[-1] if stack else None,
            external_id=view_dict.get("external_id"),
        )
        state.views[view_id] = view
        state.view_stacks[user] = [*stack, view_id]
        return view


def views_push(state: FakeSlackState, params: JsonDict) -> JsonDict:
    """Push a modal onto the stack of the user the trigger belongs to."""
    view_dict = _view_param(params)
    check_view(view_dict, expected_type="modal")
    with state.lock:
        trigger_id = param_str(params, "trigger_id") or ""
        user = state.consume_trigger(trigger_id)
        return _answer(state, push_view(state, user, view_dict, trigger_id))


def _replace(state: FakeSlackState, view: FakeView, view_dict: JsonDict) -> None:
    view.versions.append(view.view)
    view.view = copy.deepcopy(view_dict)
    view.hash = _new_hash(state)
    view.errors = None


def views_update(state: FakeSlackState, params: JsonDict) -> JsonDict:
    """Replace an open view, found by view_id or external_id, optionally guarded by its hash."""
    view_dict = _view_param(params)
    view_id = param_str(params, "view_id")
    external_id = param_str(params, "external_id")
    if not view_id and not external_id:
        raise FakeSlackError("invalid_arguments", messages=["[ERROR] view_id or external_id is required"])
    with state.lock:
        if view_id:
            view = state.find_view(view_id)
        else:
            view = next((v for v in state.views.values() if v.external_id == external_id), None)
        if view is None or view.closed:
            raise FakeSlackError("not_found")
        check_view(view_dict, expected_type=view.type)
        expected_hash = param_str(params, "hash")
        if expected_hash is not None and expected_hash != view.hash:
            raise FakeSlackError("hash_conflict")
        _check_external_id(state, view_dict.get("external_id"), own_id=view.view_id)
        _replace(state, view, view_dict)
        if view.type == "modal":
            state.touch_view(view)
        return _answer(state, view)


def views_publish(state: FakeSlackState, params: JsonDict) -> JsonDict:
    """Publish a user's Home tab; the view id stays stable per user, the hash changes."""
    view_dict = _view_param(params)
    check_view(view_dict, expected_type="home")
    user = param_str(params, "user_id", required_error="invalid_arguments") or ""
    with state.lock:
        if state.strict_channels and user not in state.users:
            raise FakeSlackError("user_not_found")
        home = state.home_views.get(user)
        expected_hash = param_str(params, "hash")
        if home is None:
            if expected_hash is not None:
                raise FakeSlackError("hash_conflict")
            home = FakeView(state.next_id("V"), _new_hash(state), user, copy.deepcopy(view_dict), type="home")
            state.home_views[user] = home
        else:
            if expected_hash is not None and expected_hash != home.hash:
                raise FakeSlackError("hash_conflict")
            _replace(state, home, view_dict)
        return _answer(state, home)


def close_view(state: FakeSlackState, view_id: str, *, whole_stack: bool = False) -> None:
    """The user closed a modal (or a submission answer closed it); `whole_stack` closes them all."""
    with state.lock:
        view = state.find_view(view_id)
        if view is None:
            raise KeyError(view_id)
        stack = _open_stack(state, view.user)
        doomed = stack if whole_stack else [view_id]
        for vid in doomed:
            state.views[vid].closed = True


def apply_view_response(
    state: FakeSlackState, view_id: str, response: JsonDict | str | bytes | None
) -> FakeView | None:
    """Apply a bot's answer to a view_submission (the HTTP body of its ack) and return the open view."""
    body: Any = response
    if isinstance(body, bytes):
        body = body.decode()
    if isinstance(body, str):
        body = json.loads(body) if body.strip() else {}
    body = body or {}
    with state.lock:
        view = state.find_view(view_id)
        if view is None:
            raise KeyError(view_id)
        action = body.get("response_action")
        if action is None:
            # A plain ack closes the submitted view; the one below it (if any) shows again.
            close_view(state, view_id)
        elif action == "clear":
            close_view(state, view_id, whole_stack=True)
        elif action == "errors":
            errors = {str(k): str(v) for k, v in (body.get("errors") or {}).items()}
            unknown = set(errors) - input_block_ids(view.view)
            if unknown:
                # Slack refuses such an answer and the user sees a generic error in the modal.
                raise ValueError(f"errors keys are not input block_ids of {view_id}: {sorted(unknown)}")
            view.errors = errors
            return view
        elif action == "update":
            new_view = body.get("view") or {}
            check_view(new_view, expected_type="modal")
            _replace(state, view, new_view)
            state.touch_view(view)
            return view
        elif action == "push":
            new_view = body.get("view") or {}
            check_view(new_view, expected_type="modal")
            return push_view(state, view.user, new_view, None)
        else:
            raise ValueError(f"unknown response_action {action!r}")
        stack = _open_stack(state, view.user)
        return state.views[stack[-1]] if stack else None
