"""The sandbox's Subprojects API and the client for it, over httpx.WSGITransport."""

from __future__ import annotations

import httpx
import pytest

from sinch import (
    Region,
    SinchAuthError,
    SinchClient,
    SinchCredentials,
    SinchForbidden,
    SinchNotFound,
    SinchSubprojectsUnavailable,
)
from sinch.sandbox import SandboxControl


def test_a_parent_lists_and_gets_its_subprojects(client: SinchClient, control: SandboxControl,
                                                 creds: SinchCredentials) -> None:
    first = control.create_subproject(creds.project_id, "Shop one")
    second = control.create_subproject(creds.project_id, "Shop two")
    listed = client.subprojects.list(creds)
    assert [(s.id, s.display_name, s.parent_project_id) for s in listed] == [
        (first.project_id, "Shop one", creds.project_id), (second.project_id, "Shop two", creds.project_id)]
    assert client.subprojects.get(creds, first.project_id).display_name == "Shop one"


def test_the_api_creates_subprojects_and_pages_through_them(client: SinchClient, raw: httpx.Client,
                                                            creds: SinchCredentials) -> None:
    created = client.subprojects.create(creds, display_name="Via the API")
    assert created.parent_project_id == creds.project_id
    token = client.fetch_token(creds)
    for number in range(3):
        client.subprojects.create(creds, display_name=f"More {number}")
    page = raw.get(f"/subprojects/v1/projects/{creds.project_id}/subprojects", params={"pageSize": 2},
                   headers={"Authorization": f"Bearer {token}"}).json()
    assert len(page["subprojects"]) == 2 and page["nextPageToken"] == "2"
    assert len(client.subprojects.list(creds)) == 4


def test_a_parents_key_works_on_its_subprojects_apps_but_not_on_a_siblings(
        client: SinchClient, control: SandboxControl, creds: SinchCredentials) -> None:
    sub = control.create_subproject(creds.project_id, "Shop", Region.EU)
    parent_key_on_sub = SinchCredentials(project_id=sub.project_id, key_id=creds.key_id,
                                         key_secret=creds.key_secret, region=Region.EU)
    app = client.apps.create(parent_key_on_sub, display_name="In the subproject")
    assert [a.id for a in client.apps.list(sub)] == [app.id]  # the subproject's own key sees it too
    sibling = control.create_project("Someone else")
    with pytest.raises(SinchForbidden):
        client.apps.list(SinchCredentials(project_id=sibling.project_id, key_id=creds.key_id,
                                          key_secret=creds.key_secret, region=Region.US))
    # ...and a subproject's key does not reach its parent.
    with pytest.raises(SinchForbidden):
        client.apps.list(SinchCredentials(project_id=creds.project_id, key_id=sub.key_id,
                                          key_secret=sub.key_secret, region=Region.US))


def test_a_subproject_cannot_have_subprojects(client: SinchClient, control: SandboxControl, raw: httpx.Client,
                                              creds: SinchCredentials) -> None:
    sub = control.create_subproject(creds.project_id, "Shop")
    response = raw.post(f"/_sandbox/projects/{sub.project_id}/subprojects", json={"name": "Nested"})
    assert response.status_code == 400 and "cannot have subprojects" in response.json()["error"]
    token = client.fetch_token(sub)
    api = raw.post(f"/subprojects/v1/projects/{sub.project_id}/subprojects", json={"displayName": "Nested"},
                   headers={"Authorization": f"Bearer {token}"})
    assert (api.status_code, api.json()["error"]["status"]) == (400, "FAILED_PRECONDITION")


def test_an_unknown_subproject_is_not_found_and_a_bad_key_is_refused(client: SinchClient,
                                                                     creds: SinchCredentials) -> None:
    with pytest.raises(SinchNotFound):
        client.subprojects.get(creds, "no-such-subproject")
    bad = SinchCredentials(project_id=creds.project_id, key_id=creds.key_id, key_secret="wrong", region=Region.US)
    with pytest.raises(SinchAuthError):
        client.subprojects.list(bad)


@pytest.mark.parametrize("status", [403, 404])
def test_an_account_without_the_closed_beta_gets_unavailable(client: SinchClient, control: SandboxControl,
                                                             creds: SinchCredentials, status: int) -> None:
    control.add_fault("^/subprojects/", status=status)
    with pytest.raises(SinchSubprojectsUnavailable) as caught:
        client.subprojects.list(creds)
    assert caught.value.status == status and "unavailable" in str(caught.value)


def test_the_state_shows_parents(control: SandboxControl, creds: SinchCredentials) -> None:
    sub = control.create_subproject(creds.project_id, "Shop")
    parents = {p["project_id"]: p["parent_project_id"] for p in control.state()["projects"]}
    assert parents == {creds.project_id: None, sub.project_id: creds.project_id}
