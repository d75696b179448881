"""Slack Web API methods implemented over FakeSlackState, plus the response_url target."""

from __future__ import annotations

import json
from collections.abc import Callable

from devslack import views_api
from devslack.models import ApiResult, FakeMessage, FakeSlackError, JsonDict, ResponsePost
from devslack.params import param_bool, param_float, param_json, param_str
from devslack.state import RESPONSE_URL_LIFETIME_S, RESPONSE_URL_MAX_USES, FakeSlackState
from devslack.validation import check_message_blocks

Handler = Callable[[FakeSlackState, JsonDict], JsonDict]

PERMALINK_BASE = "https://fake.slack.local/archives"


def _blocks(params: JsonDict) -> list[JsonDict] | None:
    blocks = param_json(params, "blocks")
    if blocks is None:
        return None
    if not isinstance(blocks, list):
        raise FakeSlackError("invalid_blocks_format")
    return blocks


# -- chat.* ---------------------------------------------------------------------------------


def _message_payload(state: FakeSlackState, msg: FakeMessage, *, include_metadata: bool) -> JsonDict:
    """A message as read APIs return it, with the thread summary Slack puts on parents."""
    out = msg.to_api(include_metadata=include_metadata)
    if msg.thread_ts and msg.is_reply:
        parent = state.find_message(msg.channel, msg.thread_ts)
        out["parent_user_id"] = parent.user if parent else ""
    replies = [m for m in state.messages(msg.channel) if m.thread_ts == msg.ts and m.ts != msg.ts]
    if replies:
        out["thread_ts"] = msg.ts
        out["reply_count"] = len(replies)
        out["reply_users"] = sorted({m.user for m in replies})
        out["latest_reply"] = replies[-1].ts
    return out


def _message_content(params: JsonDict) -> tuple[str | None, list[JsonDict] | None]:
    """A new message's text and blocks, refused as Slack refuses them (nothing to show, invalid blocks)."""
    text = param_str(params, "text")
    blocks = _blocks(params)
    if not text and not blocks:
        raise FakeSlackError("no_text")
    if blocks:
        check_message_blocks(blocks)
    return text, blocks


def chat_post_message(state: FakeSlackState, params: JsonDict) -> JsonDict:
    channel_arg = param_str(params, "channel", required_error="channel_not_found") or ""
    channel = state.resolve_channel(channel_arg, for_post=True)
    retry_after = state.take_post_slot(channel)
    if retry_after is not None:
        raise FakeSlackError("ratelimited", status=429, retry_after=retry_after)
    text, blocks = _message_content(params)
    msg = state.post_message(
        channel,
        text=text or "",
        blocks=blocks,
        thread_ts=param_str(params, "thread_ts"),
        metadata=param_json(params, "metadata"),
        reply_broadcast=param_bool(params, "reply_broadcast"),
    )
    return {"ok": True, "channel": channel, "ts": msg.ts, "message": msg.to_api()}


def chat_update(state: FakeSlackState, params: JsonDict) -> JsonDict:
    channel = state.resolve_channel(param_str(params, "channel", required_error="channel_not_found") or "")
    ts = param_str(params, "ts", required_error="message_not_found") or ""
    blocks = _blocks(params)
    if blocks:
        check_message_blocks(blocks)
    msg = state.update_message(
        channel, ts, text=param_str(params, "text"), blocks=blocks, metadata=param_json(params, "metadata")
    )
    return {"ok": True, "channel": channel, "ts": ts, "text": msg.text, "message": msg.to_api()}


def chat_delete(state: FakeSlackState, params: JsonDict) -> JsonDict:
    channel = state.resolve_channel(param_str(params, "channel", required_error="channel_not_found") or "")
    ts = param_str(params, "ts", required_error="message_not_found") or ""
    state.delete_message(channel, ts)
    return {"ok": True, "channel": channel, "ts": ts}


def chat_post_ephemeral(state: FakeSlackState, params: JsonDict) -> JsonDict:
    channel = state.resolve_channel(param_str(params, "channel", required_error="channel_not_found") or "")
    user = param_str(params, "user", required_error="user_not_in_channel") or ""
    text, blocks = _message_content(params)
    eph = state.post_ephemeral(channel, user, text=text or "", blocks=blocks, thread_ts=param_str(params, "thread_ts"))
    return {"ok": True, "message_ts": eph.ts}


def chat_get_permalink(state: FakeSlackState, params: JsonDict) -> JsonDict:
    channel = state.resolve_channel(param_str(params, "channel", required_error="channel_not_found") or "")
    ts = param_str(params, "message_ts", required_error="message_not_found") or ""
    msg = state.find_message(channel, ts)
    if msg is None:
        raise FakeSlackError("message_not_found")
    link = f"{PERMALINK_BASE}/{channel}/p{ts.replace('.', '')}"
    if msg.is_reply:
        link += f"?thread_ts={msg.thread_ts}&cid={channel}"
    return {"ok": True, "channel": channel, "permalink": link}


# -- conversations.* ------------------------------------------------------------------------


def _window(state: FakeSlackState, params: JsonDict, msgs: list[FakeMessage]) -> list[FakeMessage]:
    """Apply oldest/latest (exclusive unless `inclusive`), as Slack does."""
    oldest = param_float(params, "oldest")
    latest = param_float(params, "latest")
    inclusive = param_bool(params, "inclusive")
    out = []
    for msg in msgs:
        ts = float(msg.ts)
        if oldest is not None and (ts < oldest or (ts == oldest and not inclusive)):
            continue
        if latest is not None and (ts > latest or (ts == latest and not inclusive)):
            continue
        out.append(msg)
    return out


def _page(params: JsonDict, items: list[JsonDict], *, default_limit: int) -> JsonDict:
    """Cursor pagination: the cursor is the offset, which is all the fake needs."""
    limit = int(params.get("limit") or default_limit)
    start = int(param_str(params, "cursor") or 0)
    page = items[start : start + limit]
    more = start + limit < len(items)
    return {
        "ok": True,
        "messages": page,
        "has_more": more,
        "response_metadata": {"next_cursor": str(start + limit) if more else ""},
    }


def _wants_metadata(state: FakeSlackState, params: JsonDict, msg: FakeMessage) -> bool:
    # Believed Slack behaviour: an app sees its own messages' metadata; others' need include_all_metadata.
    return param_bool(params, "include_all_metadata") or msg.user == state.bot_user_id


def conversations_history(state: FakeSlackState, params: JsonDict) -> JsonDict:
    channel = state.resolve_channel(param_str(params, "channel", required_error="channel_not_found") or "",
                                    for_read=True)
    msgs = _window(state, params, state.messages(channel, top_level_only=True))
    items = [_message_payload(state, m, include_metadata=_wants_metadata(state, params, m)) for m in reversed(msgs)]
    result = _page(params, items, default_limit=100)
    result["pin_count"] = 0
    return result


def conversations_replies(state: FakeSlackState, params: JsonDict) -> JsonDict:
    channel = state.resolve_channel(param_str(params, "channel", required_error="channel_not_found") or "")
    ts = param_str(params, "ts", required_error="thread_not_found") or ""
    msg = state.find_message(channel, ts)
    if msg is None:
        raise FakeSlackError("thread_not_found")
    parent, *replies = state.thread(channel, msg.thread_ts or msg.ts)
    # The parent always comes first; the window only filters the replies.
    msgs = [parent, *_window(state, params, replies)]
    items = [_message_payload(state, m, include_metadata=_wants_metadata(state, params, m)) for m in msgs]
    return _page(params, items, default_limit=1000)


def conversations_open(state: FakeSlackState, params: JsonDict) -> JsonDict:
    users = (param_str(params, "users", required_error="users_list_not_supplied") or "").split(",")
    if users[0] not in state.users:
        raise FakeSlackError("user_not_found")
    return {"ok": True, "channel": {"id": state.resolve_channel(users[0])}}


# -- users / usergroups / auth ---------------------------------------------------------------


def auth_test(state: FakeSlackState, params: JsonDict) -> JsonDict:
    return {
        "ok": True,
        "url": f"https://{state.team_domain}.slack.com/",
        "team": state.team_domain,
        "user": state.bot_name,
        "team_id": state.team_id,
        "user_id": state.bot_user_id,
        "bot_id": state.bot_id,
        "is_enterprise_install": False,
    }


def users_info(state: FakeSlackState, params: JsonDict) -> JsonDict:
    user_id = param_str(params, "user", required_error="user_not_found") or ""
    with state.lock:
        user = state.users.get(user_id)
        if user is None:
            raise FakeSlackError("user_not_found")
        return {"ok": True, "user": json.loads(json.dumps(user))}


def users_lookup_by_email(state: FakeSlackState, params: JsonDict) -> JsonDict:
    email = (param_str(params, "email", required_error="users_not_found") or "").lower()
    with state.lock:
        for user in state.users.values():
            if str(user["profile"].get("email", "")).lower() == email:
                return {"ok": True, "user": json.loads(json.dumps(user))}
    raise FakeSlackError("users_not_found")


def usergroups_users_list(state: FakeSlackState, params: JsonDict) -> JsonDict:
    group = param_str(params, "usergroup", required_error="no_such_subteam") or ""
    with state.lock:
        if group not in state.usergroups:
            raise FakeSlackError("no_such_subteam")
        return {"ok": True, "users": list(state.usergroups[group])}


def apps_connections_open(state: FakeSlackState, params: JsonDict) -> JsonDict:
    if state.socket_mode is None:
        raise FakeSlackError("socket_mode_not_enabled")  # believed Slack wording; the bot only shows it
    return {"ok": True, "url": state.socket_mode.issue_url()}


# Methods Slack accepts only with the app-level (xapp-) token.
APP_LEVEL_METHODS = frozenset({"apps.connections.open"})

METHODS: dict[str, Handler] = {
    "apps.connections.open": apps_connections_open,
    "auth.test": auth_test,
    "chat.postMessage": chat_post_message,
    "chat.update": chat_update,
    "chat.delete": chat_delete,
    "chat.postEphemeral": chat_post_ephemeral,
    "chat.getPermalink": chat_get_permalink,
    "conversations.history": conversations_history,
    "conversations.replies": conversations_replies,
    "conversations.open": conversations_open,
    "users.info": users_info,
    "users.lookupByEmail": users_lookup_by_email,
    "usergroups.users.list": usergroups_users_list,
    "views.open": views_api.views_open,
    "views.push": views_api.views_push,
    "views.update": views_api.views_update,
    "views.publish": views_api.views_publish,
}


def _error_result(exc: FakeSlackError) -> ApiResult:
    body: JsonDict = {"ok": False, "error": exc.code}
    if exc.messages:
        body["response_metadata"] = {"messages": exc.messages}
    headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after is not None else {}
    return ApiResult(body, exc.status, headers)


def call_api(state: FakeSlackState, method: str, params: JsonDict, *, token: str | None) -> ApiResult:
    """Answer one Web API call: auth, injected faults and latency, then the method; always recorded."""
    arrived = state.now()
    handler = METHODS.get(method)
    fault = None
    if handler is None:
        result = ApiResult({"ok": False, "error": "unknown_method"})
    elif auth_error := state.check_token(token, app_level=method in APP_LEVEL_METHODS):
        result = ApiResult({"ok": False, "error": auth_error})
    else:
        fault = state.take_fault(method)
        delay_ms = state.latency_ms + (fault.latency_ms if fault else 0)
        if delay_ms > 0:
            # Outside the state lock on purpose: other server threads keep answering meanwhile.
            state.sleep(delay_ms / 1000)
        if fault is not None and fault.error:
            retry_after = fault.retry_after if fault.status == 429 else None
            result = _error_result(FakeSlackError(fault.error, status=fault.status, retry_after=retry_after))
        else:
            try:
                # One method runs at a time, so each is atomic (handlers never sleep or do I/O).
                with state.lock:
                    result = ApiResult(handler(state, params))
            except FakeSlackError as exc:
                result = _error_result(exc)
    state.record_call(method, params, status=result.status, error=result.error, at=arrived)
    return result


def handle_response_post(state: FakeSlackState, token: str, body: JsonDict) -> ApiResult:
    """Apply a response_url answer (replace/delete original, in_channel or ephemeral) and record it."""
    with state.lock:
        target = state.response_targets.get(token)
        result = ApiResult({"ok": True})
        if target is None:
            result = ApiResult({"ok": False, "error": "invalid_token"}, 404)
        elif target.uses >= RESPONSE_URL_MAX_USES:
            result = ApiResult({"ok": False, "error": "used_url"}, 404)
        elif state.now() - target.issued_at > RESPONSE_URL_LIFETIME_S:
            result = ApiResult({"ok": False, "error": "expired_url"}, 404)
        else:
            target.uses += 1
            try:
                _apply_response(state, target.channel, target.user, target.message_ts, body)
            except FakeSlackError as exc:
                result = _error_result(exc)
        state.response_posts.append(ResponsePost(token, body, state.now(), result.status))
        return result


def _apply_response(state: FakeSlackState, channel: str, user: str, message_ts: str | None, body: JsonDict) -> None:
    text = str(body.get("text") or "")
    blocks = body.get("blocks")
    if body.get("delete_original"):
        if message_ts is None:
            raise FakeSlackError("no_original_message")
        state.delete_message(channel, message_ts)
    elif body.get("replace_original"):
        if message_ts is None:
            raise FakeSlackError("no_original_message")
        # respond(replace_original=True) replaces the whole message, blocks included.
        state.update_message(channel, message_ts, text=text, blocks=list(blocks or []))
    elif body.get("response_type") == "in_channel":
        state.post_message(channel, text=text, blocks=blocks, thread_ts=body.get("thread_ts"))
    else:
        state.post_ephemeral(channel, user, text=text, blocks=blocks, thread_ts=body.get("thread_ts"))
