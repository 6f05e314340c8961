"""One screening of a batch's text (lineage.screening) instead of every event's own masking and storability
checks: what it lets through is stored exactly as sent, at the right place; what it cannot vouch for
(a secret, a \\u escape that could spell one or a NUL, NaN, an infinite number) takes the per-event
checks, so a secret is still masked and an unstorable event still refused alone."""

import json
import random
import uuid

import pytest
from rest_framework.test import APIClient

from config import json_depth
from lineage.models import OpenLineageEvent
from lineage.screening import plain_batch
from orgs.models import Role
from tests.lineage.test_batch_api import ol_event, post_batch

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def client(make_key, org_a):
    api = APIClient()
    api.credentials(HTTP_X_API_KEY=make_key(org_a, Role.WRITE))
    return api


def stored(org):
    return list(OpenLineageEvent.objects.unscoped().filter(organization=org).order_by("id"))


NOT_PLAIN = {
    "a DSN with a password": '[{"namespace": "postgres://etl:hunter2@db:5432"}]',
    "a DataXPipe key": '[{"k": "DXP_abc"}]',
    "a bearer token": '[{"h": "BeArEr abc"}]',
    "an escaped @": '[{"namespace": "postgres://etl:hunter2\\u0040db:5432"}]',
    "an escaped NUL": '[{"v": "a\\u0000b"}]',
    "a lone surrogate": '[{"v": "\\ud800"}]',
    "NaN": '[{"n": NaN}]',
    "-Infinity": '[{"n": -Infinity}]',
    "1e999": '[{"n": 1e999}]',
    "1E+400 after a space": '[{"n": [ 1E+400]}]',
    "a 200-digit float": '[{"n": ' + "9" * 200 + ".5}]",
}


@pytest.mark.parametrize("text", NOT_PLAIN.values(), ids=NOT_PLAIN.keys())
def test_the_screen_sends_what_it_cannot_vouch_for_to_the_per_event_checks(text):
    assert plain_batch(text) is False


PLAIN = {
    "UUIDs and nanoseconds": json.dumps([ol_event(when="2026-11-26T06:00:00.123456789Z") for _ in range(50)]),
    "an exponent-like run inside a string": '[{"run": {"runId": "6e123456-1e234-x"}, "name": "v1e400"}]',
    "unicode sent as UTF-8": json.dumps([ol_event(job="tâche_été")], ensure_ascii=False),
    "small and ordinary numbers": '[{"n": 1.5e10, "m": -3, "k": 12345678901234567890}]',
}


@pytest.mark.parametrize("text", PLAIN.values(), ids=PLAIN.keys())
def test_ordinary_batches_pass_the_screen(text):
    assert plain_batch(text) is True


def test_half_the_event_size_cap_bounds_a_plain_batch(settings):
    text = json.dumps([ol_event()])
    settings.DATAXPIPE_OPENLINEAGE_MAX_EVENT_BYTES = 2 * len(text)
    assert plain_batch(text) is True
    settings.DATAXPIPE_OPENLINEAGE_MAX_EVENT_BYTES = 2 * len(text) - 1
    assert plain_batch(text) is False


def test_events_are_stored_as_sent_each_at_its_place_around_a_refused_one(client, org_a, org_b):
    events = [
        ol_event(job="tâche_été", when="2026-11-26T06:00:00.123456789Z"),
        {"eventType": "START", "producer": "p", "run": {"runId": "no-job"}},  # refused: no job
        ol_event(job="second", when="2026-11-26T08:00:00+02:00", run={"runId": str(uuid.uuid4()), "facets": {}}),
        ol_event(job="third", when="2026-11-26T06:00:00"),  # no zone: UTC
    ]
    text = json.dumps(events, ensure_ascii=False)
    assert plain_batch(text)

    response = post_batch(client, text.encode())

    assert response.status_code == 200, response.content
    assert [item["status"] for item in response.json()["events"]] == ["accepted", "refused", "accepted", "accepted"]
    rows = stored(org_a)
    assert [row.payload for row in rows] == [events[0], events[2], events[3]]
    assert [row.job_name for row in rows] == ["tâche_été", "second", "third"]
    assert stored(org_b) == []


def test_a_resent_plain_batch_is_all_duplicates_whatever_the_time_notation(client, org_a):
    events = [
        ol_event(when="2026-11-26T06:00:00.123456789Z"),
        ol_event(when="2026-11-26T08:00:00.5+02:00"),
        ol_event(when="2026-11-26T06:00:00"),
    ]
    events.append(dict(events[0]))  # the same event twice in one batch: the second is a duplicate
    body = json.dumps(events).encode()

    first = post_batch(client, body).json()
    again = post_batch(client, body).json()

    assert [item["status"] for item in first["events"]] == ["accepted", "accepted", "accepted", "duplicate"]
    assert [item["status"] for item in again["events"]] == ["duplicate"] * 4
    assert len(stored(org_a)) == 3
    single = client.post("/api/v1/lineage", data=json.dumps(events[1]), content_type="application/json")
    assert single.status_code == 200 and single.json()["status"] == "duplicate"


@pytest.mark.parametrize("escaped", [False, True], ids=["plain @", "escaped @"])
def test_a_secret_in_a_batch_is_masked_however_it_is_written(client, org_a, escaped):
    dsn = "postgres://etl:hunter2@db:5432"
    events = [ol_event(), ol_event(inputs=[{"namespace": dsn, "name": "raw.orders"}])]
    text = json.dumps(events)
    if escaped:
        text = text.replace("hunter2@", "hunter2\\u0040")

    response = post_batch(client, text.encode())

    assert response.json()["accepted"] == 2, response.content
    payloads = json.dumps([row.payload for row in stored(org_a)])
    assert "hunter2" not in payloads
    assert "postgres://etl:" in payloads


def test_an_ndjson_batch_is_stored_as_sent(client, org_a):
    events = [ol_event(job="n1"), ol_event(job="n2")]
    body = "\n".join(json.dumps(event, ensure_ascii=False) for event in events) + "\n"

    response = post_batch(client, body.encode(), content_type="application/x-ndjson")

    assert response.json()["accepted"] == 2, response.content
    assert [row.payload for row in stored(org_a)] == events


def _reference_depth(text: str) -> int:
    """The nesting depth of a JSON text, read character by character: the definition the fast scan meets."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def _document(rng, levels):
    if levels <= 0 or rng.random() < 0.25:
        return rng.choice(['x[{"]}\\', "é\u2028]", 1, None, "\\u005b", "]]]", "{{{", '\\"'])
    if rng.random() < 0.5:
        return [_document(rng, levels - 1) for _ in range(rng.randint(0, 3))]
    return {rng.choice(["k[", 'k"}', "\\", "é", "\\\\"]): _document(rng, levels - 1) for _ in range(rng.randint(0, 3))}


def test_the_depth_scan_agrees_with_a_character_by_character_reading():
    """Brackets, quotes and backslashes inside strings, non-ASCII text, escaped or not: 3,000 documents."""
    rng = random.Random(13)
    for _ in range(3000):
        text = json.dumps(_document(rng, rng.randint(1, 10)), ensure_ascii=rng.random() < 0.5)
        limit = rng.randint(1, 8)
        assert json_depth.too_deep(text, limit) == (_reference_depth(text) > limit), (text, limit)


def test_a_text_the_database_refuses_after_the_screen_falls_back_to_the_per_event_checks(client, org_a, monkeypatch):
    """Defence in depth: were the screen to miss something PostgreSQL cannot store (here it is told to pass
    a NUL), the batch is decided event by event instead of answering 500."""
    monkeypatch.setattr("workflows.openlineage.plain_batch", lambda text: True)
    text = json.dumps([ol_event(source="raw.1"), ol_event(source="raw.x"), ol_event(source="raw.2")])
    text = text.replace('"raw.x"', '"raw\\u0000x"')

    response = post_batch(client, text.encode())

    assert response.status_code == 200, response.content
    assert [item["status"] for item in response.json()["events"]] == ["accepted", "refused", "accepted"]
    assert len(stored(org_a)) == 2


def test_numbers_with_an_exponent_count_at_their_serialised_size_against_the_event_cap(client, org_a, settings):
    """A number written 1e15 is 4 bytes sent but 1000000000000000.0 (18) as the event is measured: a batch
    within half the cap can hold an event past it, which the per-event check refuses as it always did."""
    event = ol_event()
    text = json.dumps([event], separators=(",", ":"))[:-2] + ',"n":[' + ",".join(["1e15"] * 200) + "]}]"
    serialised = len(json.dumps(json.loads(text)[0], ensure_ascii=False).encode())
    settings.DATAXPIPE_OPENLINEAGE_MAX_EVENT_BYTES = 2 * len(text)
    assert serialised > 2 * len(text)

    assert plain_batch(text) is False
    response = post_batch(client, text.encode())

    assert response.status_code == 200, response.content
    assert [item["status"] for item in response.json()["events"]] == ["refused"]
    assert stored(org_a) == []


def test_exponents_inside_strings_do_not_count_against_a_plain_batch(settings):
    text = json.dumps([ol_event(run={"runId": "10e0-20e0-30e0"}, job="1e15 2E15")])
    settings.DATAXPIPE_OPENLINEAGE_MAX_EVENT_BYTES = 2 * len(text)
    assert plain_batch(text) is True
