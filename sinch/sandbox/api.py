"""Sinch's API as the sandbox speaks it: OAuth2 token, Conversation apps, Provisioning messenger."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from sinch.models import Region
from sinch.sandbox.formats import api_of, conversation_error, oauth_error, papi_error, render_app
from sinch.sandbox.ids import ULID_PATTERN
from sinch.sandbox.routing import Route
from sinch.sandbox.state import AccessKey, App, SandboxState
from sinch.sandbox.wsgi import BadRequestBody, Request, Response, json_response

__all__ = ["API_ROUTES", "NO_INSTAGRAM_CHANNEL", "NO_MESSENGER_CHANNEL", "authenticate", "authorize", "json_object"]

NO_MESSENGER_CHANNEL = "conversation_app_no_messenger_channel"
# Not documented in what was read (sinch-api.md §3); modelled on the Messenger code.
NO_INSTAGRAM_CHANNEL = "conversation_app_no_instagram_channel"
_CONVERSATION = "/conversation/{region}/v1/projects/{project}"


def _basic_key(state: SandboxState, value: str) -> AccessKey | None:
    try:
        key_id, _, secret = base64.b64decode(value.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return state.check_secret(key_id, secret)


def _unauthenticated(path: str, message: str, challenge: str) -> Response:
    headers = [("WWW-Authenticate", challenge)]
    if api_of(path) == "provisioning":
        return papi_error(401, "unauthorized_error", message, "Check the access key or token", headers=headers)
    return conversation_error(401, message, headers=headers)


def authenticate(state: SandboxState, request: Request) -> AccessKey | Response:
    """The key behind a Bearer token or Basic credentials, or a 401 in the route's API format."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer":
        check = state.check_token(value.strip())
        if check.key is not None:
            return check.key
        if check.expired:
            challenge = 'Bearer error="invalid_token", error_description="The access token expired"'
            return _unauthenticated(request.path, "The access token expired.", challenge)
        return _unauthenticated(
            request.path, "Request had invalid authentication credentials.", 'Bearer error="invalid_token"'
        )
    if scheme.lower() == "basic":
        key = _basic_key(state, value)
        if key is not None:
            return key
        return _unauthenticated(request.path, "Request had invalid credentials.", 'Basic realm="sinch"')
    return _unauthenticated(request.path, "Request is missing authentication credentials.", 'Bearer realm="sinch"')


def authorize(state: SandboxState, request: Request, project_id: str) -> AccessKey | Response:
    """The key, if it authenticates and belongs to the project (keys are project-scoped)."""
    key = authenticate(state, request)
    if isinstance(key, Response) or state.key_reaches(key, project_id):
        return key
    message = f"Access key {key.key_id} is not associated with project {project_id}"
    if api_of(request.path) == "provisioning":
        return papi_error(403, "forbidden_error", message, "Use an access key of this project")
    return conversation_error(403, message, rpc_status="PERMISSION_DENIED")


def _region(value: str) -> Region | Response:
    try:
        return Region(value)
    except ValueError:
        return conversation_error(404, f"Unknown region '{value}'")


def _scope(state: SandboxState, request: Request, params: dict[str, str]) -> Region | Response:
    """The region of an authorized Conversation API request, or the error to send."""
    region = _region(params["region"])
    if isinstance(region, Response):
        return region
    key = authorize(state, request, params["project"])
    return key if isinstance(key, Response) else region


def token(state: SandboxState, request: Request, params: dict[str, str]) -> Response:
    """POST /oauth2/token: client credentials with Basic key_id:key_secret."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    key = _basic_key(state, value) if scheme.lower() == "basic" else None
    if key is None:
        return oauth_error(
            401, "invalid_client", "Client authentication failed", headers=[("WWW-Authenticate", 'Basic realm="sinch"')]
        )
    try:
        grant_type = request.form().get("grant_type")
    except BadRequestBody as exc:
        return oauth_error(400, "invalid_request", str(exc))
    if grant_type != "client_credentials":
        return oauth_error(400, "unsupported_grant_type", "Only grant_type=client_credentials is supported")
    return json_response(
        200,
        {"access_token": state.issue_token(key), "expires_in": state.token_ttl, "scope": "", "token_type": "bearer"},
    )


def list_apps(state: SandboxState, request: Request, params: dict[str, str]) -> Response:
    """GET apps: the project's apps in this region (listing does not count as a status read)."""
    region = _scope(state, request, params)
    if isinstance(region, Response):
        return region
    now = state.clock()
    apps = [
        render_app(app, status=None if app.messenger is None else app.messenger.status(now),
                   instagram_status=None if app.instagram is None else app.instagram.status(now))
        for app in state.apps_of(params["project"], region)
    ]
    return json_response(200, {"apps": apps})


def json_object(request: Request) -> dict[str, Any] | Response:
    """The request's JSON object body, or the Conversation API's 400 for anything else."""
    try:
        body = request.json()
    except BadRequestBody as exc:
        return conversation_error(400, str(exc))
    if not isinstance(body, dict):
        return conversation_error(400, "Request body must be a JSON object")
    return body


def create_app(state: SandboxState, request: Request, params: dict[str, str]) -> Response:
    """POST apps: `{"display_name", "channel_credentials": []}`; the region is the host's."""
    region = _scope(state, request, params)
    if isinstance(region, Response):
        return region
    body = json_object(request)
    if isinstance(body, Response):
        return body
    name = body.get("display_name")
    if not isinstance(name, str) or not name.strip():
        return conversation_error(400, "display_name is required")
    channels = body.get("channel_credentials")
    if not isinstance(channels, list):
        return conversation_error(400, "channel_credentials is required (an array)")
    if channels:
        return conversation_error(
            400, "The sandbox creates apps without channels; connect a Page via the /_sandbox messenger route"
        )
    app = state.create_app(params["project"], region, name)
    return json_response(200, render_app(app, status=None))


def _app(state: SandboxState, request: Request, params: dict[str, str]) -> App | Response:
    region = _scope(state, request, params)
    if isinstance(region, Response):
        return region
    app = state.app_in(params["project"], region, params["app"])
    if app is None:
        # Also what Sinch answers for an app that exists in another region.
        return conversation_error(404, f"App {params['app']} not found")
    return app


def get_app(state: SandboxState, request: Request, params: dict[str, str]) -> Response:
    """GET one app; counts as a status read of every channel it carries."""
    app = _app(state, request, params)
    if isinstance(app, Response):
        return app
    with state.lock:
        now = state.clock()
        status = None if app.messenger is None else app.messenger.observe(now)
        instagram_status = None if app.instagram is None else app.instagram.observe(now)
        return json_response(200, render_app(app, status=status, instagram_status=instagram_status))


def delete_app(state: SandboxState, request: Request, params: dict[str, str]) -> Response:
    """DELETE one app."""
    app = _app(state, request, params)
    if isinstance(app, Response):
        return app
    state.delete_app(app)
    return json_response(200, {})


def _provisioned_app(state: SandboxState, request: Request, params: dict[str, str]) -> App | Response:
    """The app a Provisioning API channel read is about, or its PAPI error."""
    key = authorize(state, request, params["project"])
    if isinstance(key, Response):
        return key
    if ULID_PATTERN.fullmatch(params["app"]) is None:
        return papi_error(400, "conversation_app_id_invalid", f"'{params['app']}' is not a valid app id")
    app = state.app_anywhere(params["project"], params["app"])
    if app is None:
        return papi_error(404, "conversation_app_not_found", "Conversation app not found")
    return app


def messenger_status(state: SandboxState, request: Request, params: dict[str, str]) -> Response:
    """Provisioning GET messenger: status, statusDescription, id (Page), name (Page)."""
    app = _provisioned_app(state, request, params)
    if isinstance(app, Response):
        return app
    with state.lock:
        messenger = app.messenger
        if messenger is None:
            return papi_error(
                404,
                NO_MESSENGER_CHANNEL,
                "Conversation app has no initialized Messenger channel",
                "Connect a Facebook Page to the app in the dashboard",
            )
        status = messenger.observe(state.clock())
        body = {"status": status, "id": messenger.page_id, "name": messenger.page_name}
        description = messenger.failure_description(status)
        if description:
            body["statusDescription"] = description
        return json_response(200, body)


def instagram_status(state: SandboxState, request: Request, params: dict[str, str]) -> Response:
    """Provisioning GET instagram: status, statusDescription, id, name, username and the profile's counts."""
    app = _provisioned_app(state, request, params)
    if isinstance(app, Response):
        return app
    with state.lock:
        instagram = app.instagram
        if instagram is None:
            return papi_error(
                404,
                NO_INSTAGRAM_CHANNEL,
                "Conversation app has no initialized Instagram channel",
                "Connect an Instagram account to the app in the dashboard",
            )
        status = instagram.observe(state.clock())
        body: dict[str, Any] = {
            "status": status, "id": instagram.instagram_id, "name": instagram.username,
            "username": instagram.username, "biography": "", "followersCount": 0, "followsCount": 0,
            "mediaCount": 0, "profilePictureUrl": "", "website": "",
        }
        description = instagram.failure_description(status)
        if description:
            body["statusDescription"] = description
        return json_response(200, body)


API_ROUTES = (
    Route("/oauth2/token", {"POST": token}),
    Route(f"{_CONVERSATION}/apps", {"GET": list_apps, "POST": create_app}),
    Route(f"{_CONVERSATION}/apps/{{app}}", {"GET": get_app, "DELETE": delete_app}),
    Route(
        "/provisioning/v1/projects/{project}/conversation/apps/{app}/messenger",
        {"GET": messenger_status},
    ),
    Route(
        "/provisioning/v1/projects/{project}/conversation/apps/{app}/instagram",
        {"GET": instagram_status},
    ),
)
