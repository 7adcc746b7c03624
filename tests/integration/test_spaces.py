"""/spaces: the catalogue, who may change it, and the rules a space's settings follow."""

from __future__ import annotations

import uuid

import pytest

from reservas.errors import PROBLEM_JSON
from tests.integration.conftest import bearer
from tests.support import space_body


def test_admins_create_spaces_and_anyone_reads_them(spaces_api, client_for, admin):
    response = client_for("spaces").post("/spaces", json=space_body(), headers=bearer(admin["access_token"]))
    assert response.status_code == 201
    space = response.json()
    assert response.headers["location"] == f"/spaces/{space['id']}"
    assert space["price_per_hour"] == "25.00"
    assert space["is_active"] is True
    assert space["opening_hours"]["mon"] == [["08:00", "20:00"]]
    assert "sat" not in space["opening_hours"]
    anonymous = client_for("spaces").get(f"/spaces/{space['id']}")
    assert anonymous.status_code == 200
    assert anonymous.json() == space


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"opening_hours": {"mon": [["20:00", "08:00"]]}}, "closes before it opens"),
        ({"opening_hours": {"mon": [["08:00", "12:00"], ["11:00", "14:00"]]}}, "overlap"),
        ({"opening_hours": {"monday": [["08:00", "12:00"]]}}, "unknown day"),
        ({"opening_hours": {"mon": [["8am", "12:00"]]}}, "HH:MM"),
        ({"opening_hours": {"mon": [["24:00", "24:00"]]}}, "cannot open at 24:00"),
        ({"timezone": "Mars/Olympus_Mons"}, "unknown time zone"),
        ({"price_per_hour": "-1.00"}, "greater than or equal to 0"),
        ({"price_per_hour": "1.234"}, "decimal places"),
        ({"currency": "euro"}, "pattern"),
        ({"capacity": 0}, "greater than or equal to 1"),
        ({"min_duration_minutes": 120, "max_duration_minutes": 60}, "cannot be more than"),
        ({"slot_minutes": 7}, "divide a day"),
        ({"slot_minutes": 30, "min_duration_minutes": 45}, "multiple of slot_minutes"),
        ({"name": "   "}, "at least 1 character"),
        ({"is_active": False}, "Extra inputs"),
        ({"id": str(uuid.uuid4())}, "Extra inputs"),
    ],
)
def test_impossible_spaces_are_422_with_the_reason(client_for, admin, overrides, message):
    response = client_for("spaces").post(
        "/spaces", json=space_body(**overrides), headers=bearer(admin["access_token"])
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    assert message.lower() in response.text.lower()


def test_a_missing_time_zone_or_opening_hours_is_422(client_for, admin):
    body = space_body()
    del body["timezone"], body["opening_hours"]
    response = client_for("spaces").post("/spaces", json=body, headers=bearer(admin["access_token"]))
    assert response.status_code == 422
    assert {tuple(e["loc"]) for e in response.json()["errors"]} == {
        ("body", "timezone"),
        ("body", "opening_hours"),
    }


def test_updates_change_only_what_is_given_and_must_leave_a_valid_space(spaces_api, client_for):
    space = spaces_api.create()
    spaces = client_for("spaces")
    updated = spaces.put(f"/spaces/{space['id']}", json={"capacity": 12}, headers=spaces_api.admin_headers)
    assert updated.status_code == 200
    assert updated.json()["capacity"] == 12 and updated.json()["name"] == space["name"]
    clash = spaces.put(
        f"/spaces/{space['id']}", json={"min_duration_minutes": 600}, headers=spaces_api.admin_headers
    )
    assert clash.status_code == 422
    assert "cannot be more than" in clash.json()["detail"]
    assert spaces.get(f"/spaces/{space['id']}").json()["min_duration_minutes"] == 30
    missing = spaces.put(f"/spaces/{uuid.uuid4()}", json={"capacity": 3}, headers=spaces_api.admin_headers)
    assert missing.status_code == 404


def test_non_admins_cannot_change_the_catalogue(spaces_api, client_for, register):
    space = spaces_api.create()
    user = bearer(register("bob@example.com", name="Bob")["access_token"])
    spaces = client_for("spaces")
    for response in (
        spaces.post("/spaces", json=space_body(), headers=user),
        spaces.put(f"/spaces/{space['id']}", json={"capacity": 1}, headers=user),
        spaces.delete(f"/spaces/{space['id']}", headers=user),
    ):
        assert response.status_code == 403
    for response in (
        spaces.post("/spaces", json=space_body()),
        spaces.put(f"/spaces/{space['id']}", json={"capacity": 1}),
        spaces.delete(f"/spaces/{space['id']}"),
    ):
        assert response.status_code == 401
    assert spaces.get(f"/spaces/{space['id']}").json()["capacity"] == 8


def test_a_deactivated_space_is_hidden_from_everyone_but_admins(spaces_api, client_for, register):
    space = spaces_api.create()
    spaces = client_for("spaces")
    user = register("bob@example.com", name="Bob")["access_token"]
    assert spaces.delete(f"/spaces/{space['id']}", headers=spaces_api.admin_headers).status_code == 204
    assert spaces.delete(f"/spaces/{space['id']}", headers=spaces_api.admin_headers).status_code == 204
    assert spaces_api.get(f"/spaces/{space['id']}").status_code == 404
    assert spaces_api.get(f"/spaces/{space['id']}", token=user).status_code == 404
    assert (
        spaces_api.get(f"/spaces/{space['id']}/availability", token=user, date="2030-01-07").status_code
        == 404
    )
    assert spaces_api.get("/spaces", token=user, include_inactive="true").json()["items"] == []
    admin_view = spaces_api.get(f"/spaces/{space['id']}", token=spaces_api.admin_headers["Authorization"][7:])
    assert admin_view.status_code == 200 and admin_view.json()["is_active"] is False
    listed = spaces_api.get(
        "/spaces", token=spaces_api.admin_headers["Authorization"][7:], include_inactive="true"
    )
    assert [s["id"] for s in listed.json()["items"]] == [space["id"]]


def test_unknown_and_malformed_ids(client_for, engine):
    assert client_for("spaces").get(f"/spaces/{uuid.uuid4()}").status_code == 404
    assert client_for("spaces").get("/spaces/42").status_code == 422


def test_the_catalogue_filters(spaces_api):
    spaces_api.create(name="Big Hall", capacity=100, location="Valencia", amenities=["stage", "projector"])
    spaces_api.create(name="Focus Booth", capacity=1, location="Madrid", amenities=["soundproof"])
    spaces_api.create(name="Sala Retiro", description="Quiet room by the park")

    def names(**params):
        response = spaces_api.get("/spaces", **params)
        assert response.status_code == 200, response.text
        return [s["name"] for s in response.json()["items"]]

    assert names() == ["Big Hall", "Focus Booth", "Sala Retiro"]
    assert names(capacity_min=8) == ["Big Hall", "Sala Retiro"]
    assert names(location="madrid") == ["Focus Booth", "Sala Retiro"]
    assert names(amenities="projector") == ["Big Hall", "Sala Retiro"]
    assert names(amenities="projector,stage") == ["Big Hall"]
    assert names(amenities="projector, soundproof") == []
    assert names(q="PARK") == ["Sala Retiro"]
    assert names(q="100%") == []


def test_the_catalogue_pages(spaces_api):
    for n in range(5):
        spaces_api.create(name=f"Desk {n}")
    seen, cursor = [], None
    while True:
        page = spaces_api.get("/spaces", limit=2, **({"cursor": cursor} if cursor else {})).json()
        seen += [s["name"] for s in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"Desk {n}" for n in range(5)]
    assert spaces_api.get("/spaces", cursor="bogus").status_code == 422


def test_an_invalid_token_on_a_public_route_is_still_401(spaces_api):
    assert spaces_api.get("/spaces", token="garbage").status_code == 401
