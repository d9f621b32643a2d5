"""Targets (一)(十九) as tracking takes them: the office sets any unit's, a 市州 its counties'
(never its own), the latest word per unit, year and indicator counting."""

from __future__ import annotations

from services.kernel.contract import ids
from services.kernel.ingest.reports import Batch
from tests.unit.test_tracking_application import HUANGSHI, JIANG_AN, WUHAN, Tracking


def set_target(tracking: Tracking, source: str, unit: str, **payload) -> dict:
    fields = {"year": "2020", "indicator": "capital_arrived", "yearly": "40", **payload}
    return tracking.send("target.set", source, unit=unit, **fields)


def targets(tracking: Tracking, unit: str) -> dict:
    record = Batch(tracking.app).get(ids.named_id("targets", f"{unit}:2020"))
    return {} if record is None else record.targets


def test_the_office_sets_any_units_targets_and_a_prefecture_its_counties():
    tracking = Tracking()

    assert set_target(tracking, "office", WUHAN)["status"] == "accepted"
    assert set_target(tracking, f"pref:{WUHAN}", JIANG_AN, yearly="8")["status"] == "accepted"
    assert set_target(tracking, f"pref:{WUHAN}", WUHAN)["rule"] == (
        "targets_by_office_or_prefecture"
    )
    assert set_target(tracking, f"pref:{HUANGSHI}", JIANG_AN)["rule"] == (
        "targets_by_office_or_prefecture"
    )
    assert set_target(tracking, f"county:{JIANG_AN}", JIANG_AN)["rule"] == (
        "targets_by_office_or_prefecture"
    )
    assert targets(tracking, JIANG_AN)["capital_arrived"]["yearly"] == 8


def test_quarterly_targets_name_all_four_quarters_and_a_later_target_replaces():
    tracking = Tracking()

    short = set_target(tracking, "office", WUHAN, quarterly=["10", "10"])
    set_target(tracking, "office", WUHAN, quarterly=["5", "10", "10", "15"])
    set_target(tracking, "office", WUHAN, yearly="60")

    assert short["rule"] == "four_quarters"
    assert targets(tracking, WUHAN)["capital_arrived"]["yearly"] == 60
    assert targets(tracking, WUHAN)["capital_arrived"]["quarterly"] is None
