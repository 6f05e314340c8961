"""Late pipelines (issue 16, docs/lateness.md), on a frozen clock: pipelines registered and runs reported
through the API at chosen instants, the detector run at chosen instants, the answer read through the API."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog import lateness, services
from catalog.late_detection import detect_late_pipelines
from catalog.models import Pipeline
from catalog.services import pipeline_for_job
from catalog.tasks import detect_late_pipelines_task
from tests.catalog.conftest import small_spec

pytestmark = pytest.mark.django_db


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def clock():
    with time_machine.travel(at("2026-06-01T10:05:00"), tick=False) as traveller:
        yield traveller


def register(client, name, schedule, **extra):
    response = client.post("/api/v1/pipelines/", small_spec(name, schedule=schedule, **extra), format="json")
    assert response.status_code in (200, 201), response.content
    return response.json()


def report_run(client, name, run_id, status="running", **times):
    body = {"pipeline_id": name, "run_id": run_id, "status": status, **times}
    response = client.post("/api/v1/runs/", body, format="json")
    assert response.status_code in (200, 201), response.content


def finish_run(client, run_id, status="success"):
    response = client.patch(f"/api/v1/runs/{run_id}", {"status": status}, format="json")
    assert response.status_code == 200, response.content


def detect(clock, when: str):
    clock.move_to(at(when))
    return detect_late_pipelines()


def late_list(client) -> dict:
    response = client.get("/api/v1/pipelines/?state=late")
    assert response.status_code == 200, response.content
    return {pipeline["name"]: pipeline["late"] for pipeline in response.json()["results"]}


def late_of(client, name):
    response = client.get(f"/api/v1/pipelines/{name}")
    assert response.status_code == 200, response.content
    return response.json()["late"]


# --- Missed slots, UTC (no DST) -------------------------------------------------------------


def test_an_hourly_pipeline_is_late_once_the_grace_after_a_slot_runs_out(client_a, clock):
    register(client_a, "hourly", "0 * * * *")
    detect(clock, "2026-06-01T11:14:59")
    assert late_list(client_a) == {}
    detect(clock, "2026-06-01T11:15:00")
    assert late_list(client_a) == {
        "hourly": {"reason": "missed_slot", "slot": "2026-06-01T11:00:00Z", "since": "2026-06-01T11:15:00Z"}
    }
    assert late_of(client_a, "hourly")["slot"] == "2026-06-01T11:00:00Z"
    detail = client_a.get("/api/v1/pipelines/hourly").json()
    assert (detail["timezone"], detail["paused"], detail["late_grace_minutes"]) == ("UTC", False, 15)


def test_a_run_started_within_the_grace_or_a_little_early_counts_for_the_slot(client_a, clock):
    register(client_a, "in_grace", "0 * * * *")
    register(client_a, "early", "0 * * * *")
    register(client_a, "too_early", "0 * * * *")
    clock.move_to(at("2026-06-01T10:40:00"))
    report_run(client_a, "too_early", "too-early-1")  # more than the 15 minutes before 11:00
    clock.move_to(at("2026-06-01T10:50:00"))
    report_run(client_a, "early", "early-1")
    clock.move_to(at("2026-06-01T11:14:00"))
    report_run(client_a, "in_grace", "in-grace-1")
    detect(clock, "2026-06-01T11:20:00")
    assert set(late_list(client_a)) == {"too_early"}


def test_a_run_reported_with_its_own_start_time_counts_when_it_is_heard_of(client_a, clock):
    register(client_a, "backfilled", "0 * * * *")
    clock.move_to(at("2026-06-01T11:05:00"))
    report_run(client_a, "backfilled", "b-1", status="queued")  # queued: the scheduler fired
    detect(clock, "2026-06-01T11:30:00")
    assert late_list(client_a) == {}


def test_a_run_arriving_after_the_lateness_clears_it(client_a, clock):
    register(client_a, "hourly", "0 * * * *")
    detect(clock, "2026-06-01T11:15:00")
    assert set(late_list(client_a)) == {"hourly"}
    clock.move_to(at("2026-06-01T11:40:00"))
    report_run(client_a, "hourly", "late-run")
    detect(clock, "2026-06-01T11:41:00")
    assert late_list(client_a) == {}
    pipeline = Pipeline.objects.unscoped().get(name="hourly")
    assert (pipeline.late_reason, pipeline.late_slot, pipeline.late_detected_at) == ("", None, None)


def test_each_new_missed_slot_gives_a_new_late_slot(client_a, clock):
    register(client_a, "hourly", "0 * * * *")
    detect(clock, "2026-06-01T11:15:00")
    detect(clock, "2026-06-01T11:59:00")
    assert late_of(client_a, "hourly") == {
        "reason": "missed_slot",
        "slot": "2026-06-01T11:00:00Z",
        "since": "2026-06-01T11:15:00Z",  # the same slot: untouched
    }
    detect(clock, "2026-06-01T12:15:00")
    assert late_of(client_a, "hourly") == {
        "reason": "missed_slot",
        "slot": "2026-06-01T12:00:00Z",
        "since": "2026-06-01T12:15:00Z",
    }


def test_a_daily_pipeline_registered_after_its_slot_is_not_late_for_it(client_a, clock):
    clock.move_to(at("2026-06-01T06:05:00"))
    register(client_a, "daily", "0 6 * * *", late_grace_minutes=30)
    detect(clock, "2026-06-01T07:00:00")
    assert late_list(client_a) == {}
    detect(clock, "2026-06-02T06:29:00")
    assert late_list(client_a) == {}
    detect(clock, "2026-06-02T06:30:00")
    assert late_list(client_a)["daily"]["slot"] == "2026-06-02T06:00:00Z"


# --- A time zone with DST ---------------------------------------------------------------------


def test_a_schedule_in_new_york_follows_daylight_saving_time(client_a, clock):
    clock.move_to(at("2026-03-06T12:00:00"))
    register(client_a, "ny", "0 6 * * *", timezone="America/New_York")
    assert client_a.get("/api/v1/pipelines/ny").json()["timezone"] == "America/New_York"
    # 06:00 EST is 11:00 UTC on Saturday 7 March...
    detect(clock, "2026-03-07T11:14:00")
    assert late_list(client_a) == {}
    detect(clock, "2026-03-07T11:15:00")
    assert late_list(client_a)["ny"]["slot"] == "2026-03-07T11:00:00Z"
    clock.move_to(at("2026-03-07T11:20:00"))
    report_run(client_a, "ny", "ny-0307")
    # ...and 06:00 EDT is 10:00 UTC on Monday 9 March (clocks went forward on Sunday 8 March).
    detect(clock, "2026-03-08T10:15:00")
    assert late_list(client_a)["ny"]["slot"] == "2026-03-08T10:00:00Z"
    clock.move_to(at("2026-03-08T10:20:00"))
    report_run(client_a, "ny", "ny-0308")
    detect(clock, "2026-03-09T10:14:00")
    assert late_list(client_a) == {}
    detect(clock, "2026-03-09T10:15:00")
    assert late_list(client_a)["ny"]["slot"] == "2026-03-09T10:00:00Z"


# --- Never late -------------------------------------------------------------------------------


def test_paused_unscheduled_and_external_pipelines_are_never_late(client_a, org_a, clock):
    register(client_a, "paused", "0 * * * *", paused=True)
    register(client_a, "unscheduled", "")
    pipeline_for_job(org_a, "airflow", "reported_by_openlineage")
    detect(clock, "2026-06-03T00:00:00")
    assert late_list(client_a) == {}
    paused = client_a.get("/api/v1/pipelines/?state=paused").json()["results"]
    assert [p["name"] for p in paused] == ["paused"]
    on_time = client_a.get("/api/v1/pipelines/?state=on_time").json()["results"]
    assert {p["name"] for p in on_time} == {"unscheduled", "reported_by_openlineage"}


def test_pausing_clears_lateness_and_unpausing_expects_only_the_slots_after_it(client_a, org_a, clock):
    register(client_a, "hourly", "0 * * * *")
    detect(clock, "2026-06-01T11:15:00")
    assert set(late_list(client_a)) == {"hourly"}
    clock.move_to(at("2026-06-01T11:20:00"))
    assert services.set_paused(Pipeline.objects.for_organization(org_a).filter(name="hourly"), True) == 1
    assert late_list(client_a) == {}
    detect(clock, "2026-06-01T14:15:00")
    assert late_list(client_a) == {}
    clock.move_to(at("2026-06-01T14:30:00"))
    services.set_paused(Pipeline.objects.for_organization(org_a), False)
    detect(clock, "2026-06-01T14:50:00")
    assert late_list(client_a) == {}  # 14:00 was missed while paused: not expected
    detect(clock, "2026-06-01T15:15:00")
    assert late_list(client_a)["hourly"]["slot"] == "2026-06-01T15:00:00Z"


def test_a_pipeline_paused_behind_the_detectors_back_is_cleared_at_the_next_pass(client_a, org_a, clock):
    register(client_a, "hourly", "0 * * * *")
    detect(clock, "2026-06-01T11:15:00")
    Pipeline.objects.for_organization(org_a).update(paused=True)  # as a concurrent write would leave it
    detect(clock, "2026-06-01T11:16:00")
    assert late_list(client_a) == {}


def test_a_new_version_without_paused_keeps_the_pause_and_a_new_schedule_restarts_expectations(client_a, org_a, clock):
    register(client_a, "hourly", "0 * * * *", late_grace_minutes=5)
    services.set_paused(Pipeline.objects.for_organization(org_a), True)
    register(client_a, "hourly", "0 * * * *", version="2")
    detail = client_a.get("/api/v1/pipelines/hourly").json()
    assert (detail["paused"], detail["late_grace_minutes"]) == (True, 5)
    register(client_a, "hourly", "0 * * * *", version="3", paused=False)
    detect(clock, "2026-06-01T11:05:00")
    assert late_list(client_a)["hourly"]["slot"] == "2026-06-01T11:00:00Z"
    clock.move_to(at("2026-06-01T11:31:00"))
    register(client_a, "hourly", "30 * * * *", version="4")
    detect(clock, "2026-06-01T11:50:00")
    assert late_list(client_a) == {}  # the new schedule's 11:30 slot came before it was registered
    detect(clock, "2026-06-01T12:35:00")
    assert late_list(client_a)["hourly"]["slot"] == "2026-06-01T12:30:00Z"


# --- Overruns ---------------------------------------------------------------------------------


def test_a_run_far_past_its_usual_duration_makes_the_pipeline_late_until_it_finishes(client_a, clock):
    register(client_a, "hourly", "0 * * * *")
    for hour in (11, 12, 13):  # usual duration: 10 minutes
        clock.move_to(at(f"2026-06-01T{hour}:00:00"))
        report_run(client_a, "hourly", f"run-{hour}")
        clock.move_to(at(f"2026-06-01T{hour}:10:00"))
        finish_run(client_a, f"run-{hour}")
    clock.move_to(at("2026-06-01T14:00:00"))
    report_run(client_a, "hourly", "run-14")
    detect(clock, "2026-06-01T14:24:59")  # more than twice the usual, but not yet usual + grace (25 min)
    assert late_list(client_a) == {}
    detect(clock, "2026-06-01T14:25:00")
    overrun = {"reason": "overrun", "slot": "2026-06-01T14:00:00Z", "since": "2026-06-01T14:25:00Z"}
    assert late_list(client_a) == {"hourly": overrun}
    detect(clock, "2026-06-01T15:15:00")  # 15:00 missed while the run goes on: still the overrun, one alert
    assert late_list(client_a) == {"hourly": overrun}
    clock.move_to(at("2026-06-01T15:20:00"))
    finish_run(client_a, "run-14")
    clock.move_to(at("2026-06-01T15:21:00"))
    report_run(client_a, "hourly", "run-15")  # the scheduler catches up with the 15:00 slot
    detect(clock, "2026-06-01T15:22:00")
    assert late_list(client_a) == {}


def test_without_three_successful_runs_a_long_run_is_not_an_overrun(client_a, clock):
    register(client_a, "young", "0 6 * * *")
    clock.move_to(at("2026-06-02T06:00:00"))
    report_run(client_a, "young", "first")
    detect(clock, "2026-06-02T23:00:00")
    assert late_list(client_a) == {}


# --- Tenancy, validation, cost ---------------------------------------------------------------


def test_the_late_filter_never_shows_another_organizations_pipelines(client_a, client_b, clock):
    register(client_a, "mine", "0 * * * *")
    register(client_b, "theirs", "0 * * * *")
    register(client_b, "mine", "0 * * * *")  # the same name in the other organization
    clock.move_to(at("2026-06-01T11:00:00"))
    report_run(client_a, "mine", "a-run")
    detect(clock, "2026-06-01T11:15:00")
    assert late_list(client_a) == {}
    assert set(late_list(client_b)) == {"theirs", "mine"}
    assert client_a.get("/api/v1/pipelines/theirs").status_code == 404


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("late_grace_minutes", -1),
        ("late_grace_minutes", 7 * 24 * 60 + 1),
        ("late_grace_minutes", 1.5),
        ("late_grace_minutes", "15"),
        ("late_grace_minutes", True),
        ("paused", "yes"),
        ("paused", 1),
        ("timezone", "Mars/Olympus_Mons"),
        ("timezone", "../../../../etc/passwd"),
        ("timezone", "/etc/localtime"),
        ("timezone", "America/New_York\x00"),
        ("timezone", 5),
    ],
)
def test_bad_lateness_settings_are_400_with_field_messages_and_write_nothing(client_a, field, value):
    response = client_a.post(
        "/api/v1/pipelines/", small_spec("bad", schedule="0 * * * *", **{field: value}), format="json"
    )
    assert response.status_code == 400, response.content
    assert list(response.json()) == [field] and response.json()[field][0]
    assert not Pipeline.objects.unscoped().filter(name="bad").exists()


@pytest.mark.parametrize("schedule", ["R * * * *", "r(0-30) 6 * * *", "0 R/2 * * *", "0 6 * * * R"])
def test_a_schedule_with_a_random_field_is_refused(client_a, schedule):
    # croniter draws an `R` field anew each time it reads the schedule: the due slot would change at every pass
    # (a new late_slot, so a new alert, each minute), and no scheduler of the tenant's fires at our draw.
    response = client_a.post("/api/v1/pipelines/", small_spec("dice", schedule=schedule), format="json")
    assert response.status_code == 400, response.content
    assert list(response.json()) == ["schedule"] and "random" in response.json()["schedule"][0]
    assert not Pipeline.objects.unscoped().filter(name="dice").exists()


@pytest.mark.parametrize(
    "schedule", ["0 0 * * *\x00", "@reboot", "H H * * *", "* * * * * * * *", "0 0 1 1 * 0 1999", 5]
)
def test_a_hostile_schedule_is_a_400_on_the_field(client_a, schedule):
    response = client_a.post("/api/v1/pipelines/", small_spec("odd", schedule=schedule), format="json")
    assert response.status_code == 400, response.content
    assert list(response.json()) == ["schedule"]


def test_the_state_filter_refuses_an_unknown_state(client_a):
    assert client_a.get("/api/v1/pipelines/?state=sleepy").status_code == 400


def test_the_detector_runs_a_fixed_number_of_queries_whatever_the_number_of_pipelines(client_a, org_b, clock):
    def world(count, prefix):
        for index in range(count):
            register(client_a, f"{prefix}{index}", "0 * * * *")
        for index in range(0, count, 2):  # half have a running run with a usual duration
            for hour in (11, 12, 13):
                clock.move_to(at(f"2026-06-01T{hour}:00:00"))
                report_run(client_a, f"{prefix}{index}", f"{prefix}{index}-{hour}")
                clock.move_to(at(f"2026-06-01T{hour}:05:00"))
                finish_run(client_a, f"{prefix}{index}-{hour}")
            clock.move_to(at("2026-06-01T14:00:00"))
            report_run(client_a, f"{prefix}{index}", f"{prefix}{index}-14")
        clock.move_to(at("2026-06-01T10:05:00"))

    def queries_of_a_pass(when):
        clock.move_to(at(when))
        with CaptureQueriesContext(connection) as captured:
            detect_late_pipelines(batch_size=100)
        return len(captured)

    world(4, "small")
    small = queries_of_a_pass("2026-06-01T14:30:00")
    world(30, "large")
    large = queries_of_a_pass("2026-06-02T14:30:00")
    assert small == large <= 5, (small, large)
    states = {p.late_reason for p in Pipeline.objects.unscoped().all()}
    assert states == {"overrun", "missed_slot"}


def test_the_beat_task_runs_the_pass(client_a):
    register(client_a, "hourly", "0 * * * *")
    assert detect_late_pipelines_task.apply().get() == {"judged": 1, "became_late": 0, "cleared": 0}


# --- The rule's arithmetic --------------------------------------------------------------------


def test_the_early_tolerance_never_reaches_back_to_the_slot_before():
    due = lateness.due_slot("*/5 * * * *", "UTC", timedelta(minutes=15), at("2026-06-01T12:20:00"))
    assert due == lateness.DueSlot(slot=at("2026-06-01T12:05:00"), opens=at("2026-06-01T12:02:30"))


def test_a_zero_grace_expects_the_run_at_the_slot():
    due = lateness.due_slot("0 6 * * *", "Europe/Paris", timedelta(0), at("2026-06-01T04:00:00"))
    assert due == lateness.DueSlot(slot=at("2026-06-01T04:00:00"), opens=at("2026-06-01T04:00:00"))


def test_batches_give_the_same_verdicts_as_one_pass(client_a, clock):
    for index in range(7):
        register(client_a, f"p{index}", "0 * * * *")
    clock.move_to(at("2026-06-01T11:00:00"))
    for index in range(0, 7, 3):
        report_run(client_a, f"p{index}", f"run-{index}")
    summary = detect(clock, "2026-06-01T11:15:00")
    assert (summary.judged, summary.became_late) == (7, 4)
    assert detect_late_pipelines(batch_size=2).became_late == 0  # the same verdicts across batch boundaries
    clock.move_to(at("2026-06-01T11:20:00"))
    for index in range(7):
        report_run(client_a, f"p{index}", f"again-{index}")
    summary = detect_late_pipelines(batch_size=2)
    assert (summary.judged, summary.cleared) == (7, 4)
    assert late_list(client_a) == {}


def test_a_schedule_that_never_fires_is_refused_at_registration(client_a):
    response = client_a.post("/api/v1/pipelines/", small_spec("never", schedule="0 0 30 2 *"), format="json")
    assert response.status_code == 400
    assert "never fires" in response.json()["schedule"][0]


def test_slots_are_computed_again_only_when_the_next_one_is_due():
    grace = timedelta(minutes=15)
    first = lateness.due_slot("59 23 31 12 *", "UTC", grace, at("2026-06-01T00:00:00"))
    assert first.slot == at("2025-12-31T23:59:00")
    assert lateness.due_slot("59 23 31 12 *", "UTC", grace, at("2027-01-01T00:13:59")) == first
    assert lateness.due_slot("59 23 31 12 *", "UTC", grace, at("2027-01-01T00:14:00")).slot == at("2026-12-31T23:59:00")
    assert lateness.due_slot("59 23 31 12 *", "UTC", grace, at("2025-06-01T00:00:00")).slot == at(
        "2024-12-31T23:59:00"
    )  # a clock set back is answered too, not served the cached slot


def test_a_schedule_bounded_in_years_is_judged_from_its_first_slot_to_its_last():
    # Seven fields: daily at 06:00 in 2027 only. Before 2027 nothing is due yet; that answer must not stick.
    grace, schedule = timedelta(minutes=15), "0 6 * * * 0 2027"
    assert lateness.due_slot(schedule, "UTC", grace, at("2026-06-01T00:00:00")) is None
    first = lateness.due_slot(schedule, "UTC", grace, at("2027-01-01T06:15:00"))
    assert first == lateness.DueSlot(slot=at("2027-01-01T06:00:00"), opens=at("2027-01-01T05:45:00"))
    assert lateness.due_slot(schedule, "UTC", grace, at("2028-03-01T00:00:00")).slot == at("2027-12-31T06:00:00")
