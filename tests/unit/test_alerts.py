"""Alerts over a real store synced from the simulator: fire once when the condition turns
true, not again while it holds, again after it cleared; state kept in the store."""

from __future__ import annotations

import datetime as dt

import pytest

from desktop.services.kpi.alerts import AlertError, AlertsService
from desktop.services.kpi.evaluate import evaluate
from desktop.services.kpi.library import FormulaLibrary
from desktop.services.kpi.periods import period_range, previous_range
from desktop.store.models import Alert, AlertFiring, DataSourceStatus


def library() -> FormulaLibrary:
    return FormulaLibrary(settings=lambda: ("UTC", 0))


def clock_of(simulator):
    return lambda: dt.datetime.fromtimestamp(simulator.clock.now(), dt.UTC)


def count(formula: str, period: str, now: dt.datetime) -> float:
    start, end = period_range(period, "UTC", now=now)
    return evaluate(formula, library().catalog(), start, end).value


def test_a_number_crossing_its_threshold_through_syncs_fires_once_until_it_clears(
    make_simulator, harness_for
):
    simulator = make_simulator(size=300, seed=7)
    harness = harness_for(simulator, types=("charges",))
    harness.sync()
    now = clock_of(simulator)
    formula = "Count(Charges)"
    threshold = count(formula, "today", now()) + 3
    alert_id = AlertsService(library(), harness.writer, now=now).create(
        "Busy day", "above", formula=formula, period="today", threshold=threshold
    )
    fired: list = []

    def sync_and_check(ticks: int = 1) -> list:
        simulator.tick(ticks)
        harness.sync()
        # A new service each time: the state that stops a second firing lives in the store.
        new = AlertsService(library(), harness.writer, now=now).evaluate_all()
        fired.extend(new)
        return new

    assert AlertsService(library(), harness.writer, now=now).evaluate_all() == []
    for _ in range(20):  # each tick brings one to three new payments
        if sync_and_check():
            break
    assert len(fired) == 1
    assert Alert.get_by_id(alert_id).last_value > threshold
    assert "Busy day (today) is" in fired[0].message and "above" in fired[0].message
    assert fired[0].drill is not None and fired[0].drill.data_source_title == "Stripe Charges"

    for _ in range(3):  # still above: no storm
        assert sync_and_check() == []
    assert Alert.get_by_id(alert_id).active

    # A new day: today's count starts again from nothing, and the alert clears.
    simulator.clock.advance(86_400)
    assert sync_and_check() == []
    assert not Alert.get_by_id(alert_id).active
    assert Alert.get_by_id(alert_id).last_value <= threshold

    for _ in range(20):
        if sync_and_check():
            break
    assert len(fired) == 2
    assert [f.kind for f in AlertsService(library()).firings()] == ["alert", "alert"]
    assert AlertFiring.select().count() == 2


@pytest.fixture
def charges(db, make_simulator, harness_for):
    simulator = make_simulator(size=300, seed=7)
    harness = harness_for(simulator, types=("charges",))
    harness.sync()
    return simulator, harness


def test_below_and_change_against_the_previous_period(charges):
    simulator, harness = charges
    now = clock_of(simulator)
    service = AlertsService(library(), harness.writer, now=now)
    formula = 'Count(Charges, status = "succeeded")'
    period = "last_90_days"
    value = count(formula, period, now())
    start, end = previous_range(period, "UTC", now=now())
    before = evaluate(formula, library().catalog(), start, end).value
    change = abs(value - before) / before * 100
    below = service.create("Quiet", "below", formula=formula, period=period, threshold=value + 1)
    not_below = service.create("Fine", "below", formula=formula, period=period, threshold=value)
    moved = service.create("Moved", "change", formula=formula, period=period, threshold=change / 2)
    steady = service.create(
        "Steady", "change", formula=formula, period=period, threshold=change + 1
    )
    fired = {f.alert_id: f for f in service.evaluate_all()}
    assert set(fired) == {below, moved}
    assert "against the previous period" in fired[moved].message
    assert {a.id: a.active for a in service.alerts()} == {
        below: True,
        not_below: False,
        moved: True,
        steady: False,
    }
    assert service.evaluate_all() == []


def test_several_currencies_are_a_problem_in_words_not_a_firing(charges):
    simulator, harness = charges
    service = AlertsService(library(), harness.writer, now=clock_of(simulator))
    alert_id = service.create(
        "Volume", "above", formula="Sum(Charges, amount)", period="all_time", threshold=0
    )
    assert service.evaluate_all() == []
    assert "several currencies" in Alert.get_by_id(alert_id).problem


def test_bad_alerts_are_refused_in_words(charges):
    service = AlertsService(library())
    with pytest.raises(AlertError, match="cannot be used"):
        service.create("x", "above", formula="Count(Nothing)", threshold=1)
    with pytest.raises(AlertError, match="Unknown condition"):
        service.create("x", "sideways", formula="Count(Charges)")
    with pytest.raises(AlertError, match="e-mail"):
        service.create("x", "above", formula="Count(Charges)", email_to=["nobody"])


def test_a_sync_failing_longer_than_n_minutes_fires(charges, expected_log_warnings):
    simulator, harness = charges
    simulator.go_offline()
    harness.apis.clear()  # no connection kept alive from before
    harness.sync()
    ds = harness.data_source("charges")
    assert ds.status == DataSourceStatus.FAILED
    real = dt.datetime.now(dt.UTC)
    early = AlertsService(library(), harness.writer, now=lambda: real + dt.timedelta(minutes=5))
    alert_id = early.create("Sync down", "sync_failed", data_source_id=ds.id, threshold=30)
    assert early.evaluate_all() == []
    late = AlertsService(library(), harness.writer, now=lambda: real + dt.timedelta(minutes=31))
    (firing,) = late.evaluate_all()
    assert firing.alert_id == alert_id
    assert firing.message.startswith("The sync of Stripe Charges has failed for 31 min")
    assert late.evaluate_all() == []
    simulator.come_back()
    harness.sync()
    assert late.evaluate_all() == []
    assert not Alert.get_by_id(alert_id).active
