"""武汉铁路局 and 湖北机场集团 (附件4): sending systems of their own, `org:<key>`, that report the
progress of their own 附件4 items and nothing else — so the reminders notify sends them reach
someone the system hears. In memory: the contract, tracking and registry as senders speak to
them, notify's reminder calendar.
"""

from __future__ import annotations

from datetime import date

import pytest

from services.kernel.reference import reference
from services.notify.reminders import deadlines
from tests.contract_examples import raw_report, the_error
from tests.unit.test_registry_application import Registry
from tests.unit.test_tracking_application import Tracking

RAILWAY, AIRPORTS = "org:wuhan_railway", "org:hubei_airports"


def progress(tracking: Tracking, source: str, matter_id: str, unit: str) -> dict:
    return tracking.send(
        "matter.progress_reported",
        source,
        matter_id=matter_id,
        unit=unit,
        progress="已完成分时租赁设施选址",
        status="in_progress",
    )


def test_an_organisation_reports_the_progress_of_its_own_items_and_reads_it():
    tracking = Tracking()

    assert progress(tracking, RAILWAY, "advisory-07", RAILWAY)["status"] == "accepted"
    assert progress(tracking, AIRPORTS, "advisory-07", AIRPORTS)["status"] == "accepted"
    assert progress(tracking, RAILWAY, "advisory-13", RAILWAY)["status"] == "accepted"

    rows = tracking.app.matter_status(date(2020, 12, 1), RAILWAY)["matters"]
    assert [(r["matter_id"], r["status"]) for r in rows] == [
        ("advisory-07", "in_progress"),
        ("advisory-13", "in_progress"),
    ]


def test_an_organisation_may_say_nothing_else():
    tracking, registry = Tracking(), Registry()

    not_its_item = progress(tracking, RAILWAY, "guangdong-01", RAILWAY)
    for_another = progress(tracking, RAILWAY, "advisory-07", "dept:zhujian")
    a_project = registry.propose("RAIL-1", RAILWAY)

    assert not_its_item["rule"] == "matter_not_owed"
    assert for_another["rule"] == "outside_jurisdiction"
    assert a_project["rule"] == "outside_jurisdiction"


@pytest.mark.parametrize("source", ["org:nobody", "org:", "org:武汉铁路局"])
def test_an_organisation_the_reference_data_does_not_name_is_no_sender(source):
    found = the_error({**raw_report("matter.progress_reported"), "source": source})

    assert (found.field, found.rule) == ("source", "unknown_source")


def test_notify_reminds_each_organisation_under_the_key_it_reports_as():
    owed = {d.item: d.units for d in deadlines(reference())}

    assert {RAILWAY, AIRPORTS} <= owed["matter:advisory-07"]
    assert RAILWAY in owed["matter:advisory-13"]
    assert not any("武汉铁路局" in units for units in owed.values())
