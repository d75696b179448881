"""Deeply nested JSON before authentication: always a cheap 4xx, never a 500.

`json.loads` recurses once per nesting level; at about 1,000 levels it raised RecursionError inside the
envelope check (and inside Bolt, which parses every body before verifying its signature), and the server
answered 500 to anyone, signed or not. The envelope now scans the nesting depth first (no recursion) and
refuses anything deeper than MAX_JSON_DEPTH with 400. These tests send depths from 10 to 100,000 in every
shape the endpoint parses (`payload=` form field, JSON body, arrays, objects, mixed, brackets inside
strings), with and without a valid signature, over the real HTTP boundary: the WSGI app through httpx and a
real waitress server on loopback.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import urlencode

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.runtime import make_wsgi_app
from bot.slack.envelope import MAX_BODY_BYTES, MAX_JSON_CONTAINERS, MAX_JSON_DEPTH, nesting_depth_within
from devslack import BackgroundServer
from tests.bot.harness import BotHarness
from tests.databases import DatabaseServer
from tests.hypothesis_profiles import examples
from tests.security.figures import FIGURES

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
# Every power of ten, the values around the limit and around json's old recursion failure.
DEPTHS = sorted({10, 100, 1_000, 10_000, 100_000, MAX_JSON_DEPTH - 1, MAX_JSON_DEPTH, MAX_JSON_DEPTH + 1,
                 999, 1_001, 2_000, 50_000})
SHAPES = ("array", "object", "mixed")


def nested(depth: int, shape: str) -> str:
    """A JSON object whose `x` field holds `depth - 1` more levels of arrays, objects or both."""
    opening, closing = [], []
    for level in range(depth - 1):
        as_array = shape == "array" or (shape == "mixed" and level % 2 == 0)
        opening.append("[" if as_array else '{"x":')
        closing.append("]" if as_array else "}")
    return '{"type":"block_actions","x":' + "".join(opening) + "1" + "".join(reversed(closing)) + "}"


class Endpoint:
    def __init__(self, bot: BotHarness) -> None:
        self.bot = bot
        self.http = httpx.Client(transport=httpx.WSGITransport(app=make_wsgi_app(bot.app)), base_url="http://bot")

    def request(self, document: str, *, as_form: bool, signed: bool) -> tuple[str, dict[str, str]]:
        body = urlencode({"payload": document}) if as_form else document
        headers = self.bot.sim.signed_headers(body, FORM if as_form else JSON, sign=signed)
        return body, headers

    def post(self, document: str, *, as_form: bool, signed: bool) -> httpx.Response:
        body, headers = self.request(document, as_form=as_form, signed=signed)
        FIGURES["nesting: requests sent"] += 1
        return self.http.post("/slack/events", content=body.encode(), headers=headers)


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory, database_server: DatabaseServer) -> Iterator[Endpoint]:
    url = database_server.create(template=database_server.migrated_template())
    bot = BotHarness(tmp_path_factory.mktemp("nesting"), database_url=url)
    yield Endpoint(bot)
    bot.close()
    database_server.drop(url)


def expected_status(document: str, depth: int, *, as_form: bool, signed: bool) -> set[int]:
    size = len(urlencode({"payload": document})) if as_form else len(document)
    if size > MAX_BODY_BYTES:
        return {413}
    if depth > MAX_JSON_DEPTH:
        return {400}
    # Shallow enough to parse: unsigned is refused by the signature check, signed reaches Bolt, which has
    # no listener for this payload (404) or answers it.
    return {401} if not signed else {200, 404}


@pytest.mark.parametrize("signed", [False, True], ids=["unsigned", "signed"])
@pytest.mark.parametrize("as_form", [True, False], ids=["payload-form", "json-body"])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("depth", DEPTHS)
def test_any_depth_gets_a_4xx(endpoint: Endpoint, depth: int, shape: str, as_form: bool, signed: bool) -> None:
    document = nested(depth, shape)
    response = endpoint.post(document, as_form=as_form, signed=signed)
    assert response.status_code < 500, response.text
    assert response.status_code in expected_status(document, depth, as_form=as_form, signed=signed)
    FIGURES[f"nesting: answered {response.status_code}"] += 1


@settings(max_examples=examples(60), deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(depth=st.integers(min_value=10, max_value=100_000), shape=st.sampled_from(SHAPES), as_form=st.booleans(),
       signed=st.booleans())
def test_generated_depths_get_a_4xx(endpoint: Endpoint, depth: int, shape: str, as_form: bool,
                                    signed: bool) -> None:
    document = nested(depth, shape)
    response = endpoint.post(document, as_form=as_form, signed=signed)
    assert response.status_code in expected_status(document, depth, as_form=as_form, signed=signed), response.text


# Brackets inside strings, escaped quotes and unterminated strings do not fool the depth scan.
json_leaf = st.one_of(st.integers(), st.text(alphabet='[]{}"\\ab:,', max_size=12), st.booleans(), st.none())
json_value = st.recursive(json_leaf, lambda inner: st.lists(inner, max_size=3)
                          | st.dictionaries(st.text(alphabet='[]{}"\\ab', max_size=5), inner, max_size=3),
                          max_leaves=40)


def true_depth(value: object) -> int:
    if isinstance(value, list):
        return 1 + max((true_depth(item) for item in value), default=0)
    if isinstance(value, dict):
        return 1 + max((true_depth(item) for item in value.values()), default=0)
    return 0


@settings(max_examples=examples(300), deadline=None, database=None)
@given(value=json_value, limit=st.integers(min_value=0, max_value=8))
def test_the_depth_scan_agrees_with_the_parsed_depth(value: object, limit: int) -> None:
    text = json.dumps(value)
    assert nesting_depth_within(text, limit) == (true_depth(value) <= limit)


def test_a_real_server_answers_deep_bodies_with_400(endpoint: Endpoint) -> None:
    """The same through waitress on loopback: the server stays up and answers every one."""
    with BackgroundServer(make_wsgi_app(endpoint.bot.app), threads=2, name="bot") as server:
        url = f"{server.base_url}/slack/events"
        with httpx.Client(timeout=30) as client:
            for depth in (2_000, 100_000):
                for signed in (False, True):
                    body, headers = endpoint.request(nested(depth, "array"), as_form=True, signed=signed)
                    response = client.post(url, content=body.encode(), headers=headers)
                    assert response.status_code == 400, response.text
            assert client.get(f"{server.base_url}/healthz").text == "ok"


@pytest.mark.parametrize("count", [MAX_JSON_CONTAINERS + 1, 350_000])
def test_a_body_of_too_many_arrays_is_refused_before_it_is_decoded(endpoint: Endpoint, count: int) -> None:
    """Wide rather than deep: a million brackets are refused by a byte count, signed or not."""
    document = '{"type":"block_actions","x":[' + "[]," * (count - 1) + "[]]}"
    for as_form in (True, False):
        response = endpoint.post(document, as_form=as_form, signed=True)
        assert response.status_code in (400, 413), response.text
