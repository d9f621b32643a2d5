"""The demo quarter reads like what 17 市州 systems and the office would send, and the oracle
ranks it; the oracle itself is checked against points worked out by hand."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import date
from decimal import Decimal

import pytest

from services.kernel.contract.errors import ReportInvalid
from services.kernel.contract.report import validate_report
from services.kernel.reference import reference
from tests.oracle import expected_ranking, score_units
from tools.demo import demo_rejects, generate_demo

QUARTER = "2020Q3"
FIRST, LAST = date(2020, 7, 1), date(2020, 9, 30)
ENVELOPE = {"event_id", "type", "source", "occurred_on", "schema_version", "payload"}
MILESTONES = (
    "project.company_registered",
    "project.construction_started",
    "project.production_started",
    "project.capital_arrived",
)
# GB 32100-2015, written out again here rather than taken from the code under test.
CREDIT_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


@pytest.fixture(scope="module")
def demo() -> list[dict]:
    return generate_demo(QUARTER)


@pytest.fixture(scope="module")
def prefectures() -> list[tuple[str, str]]:
    return [(r.code, r.name) for r in reference().prefectures]


def positions(reports: list[dict]) -> dict[str, dict[str, list[int]]]:
    """project code -> report type -> where in the list its reports are."""
    found: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for i, report in enumerate(reports):
        code = report["payload"].get("project_code")
        if code is not None:
            found[code][report["type"]].append(i)
    return found


def is_valid_credit_code(code: str) -> bool:
    if len(code) != 18 or any(c not in CREDIT_CHARSET for c in code):
        return False
    total = sum(CREDIT_CHARSET.index(c) * w for c, w in zip(code, CREDIT_WEIGHTS, strict=False))
    return code[17] == CREDIT_CHARSET[(31 - total % 31) % 31]


# The demo -----------------------------------------------------------------------------------


def test_the_demo_is_the_same_on_every_run_and_another_seed_gives_other_ids(demo):
    assert generate_demo(QUARTER) == demo
    other = {r["event_id"] for r in generate_demo(QUARTER, seed=7)}
    assert other.isdisjoint(r["event_id"] for r in demo)


def test_a_quarter_holds_several_hundred_reports_of_every_kind_a_unit_sends(demo):
    assert 600 <= len(demo) <= 1200
    kinds = {r["type"] for r in demo}
    assert kinds >= {
        "leader.appointed",
        "project.proposed",
        "project.tracking_started",
        "project.signed",
        "project.assigned",
        "project.corrected",
        "project.withdrawn",
        *MILESTONES,
        "milestone.verified",
        "milestone.rejected",
        "milestone.retracted",
        "leader.trip_completed",
        "promotion.event_held",
        "task.completed",
        "matter.progress_reported",
    }
    assert sum(r["type"] == "milestone.rejected" for r in demo) == 1
    assert sum(r["type"] == "milestone.retracted" for r in demo) == 1


def test_every_report_is_a_complete_envelope_with_unique_id(demo):
    for report in demo:
        assert set(report) == ENVELOPE
        assert report["schema_version"] == 1
        assert isinstance(report["payload"], dict)
        uuid.UUID(report["event_id"])
    assert len({r["event_id"] for r in demo}) == len(demo)


def test_every_date_is_in_the_quarter_and_only_proposals_come_earlier_in_the_year(demo):
    for report in demo:
        day = date.fromisoformat(report["occurred_on"])
        if report["type"] == "project.proposed":
            assert date(2020, 1, 1) <= day <= LAST
        else:
            assert FIRST <= day <= LAST, report
    days = [r["occurred_on"] for r in demo]
    assert days == sorted(days), "published in the order things happened"


def test_each_project_moves_along_the_lists_before_its_milestones(demo):
    for code, at in positions(demo).items():
        assert at["project.proposed"] == [min(min(places) for places in at.values() if places)]
        if at["project.signed"]:
            assert at["project.tracking_started"][0] < at["project.signed"][0], code
        for kind in ("project.construction_started", "project.capital_arrived"):
            if at[kind]:
                assert at["project.signed"] and at["project.signed"][0] < min(at[kind]), code
        if at["project.production_started"]:
            assert at["project.construction_started"][0] < at["project.production_started"][0]


def test_the_office_checks_a_milestone_only_after_it_was_reported(demo):
    reported = {}
    for report in demo:
        if report["type"] in MILESTONES:
            reported[report["event_id"]] = report
        elif report["type"].startswith("milestone."):
            milestone = reported[report["payload"]["milestone_event_id"]]
            assert milestone["occurred_on"] < report["occurred_on"]
            expected = milestone["source"] if report["type"] == "milestone.retracted" else "office"
            assert report["source"] == expected


def test_credit_codes_carry_a_valid_check_digit(demo):
    codes = [r["payload"]["credit_code"] for r in demo if r["type"] == "project.company_registered"]
    assert codes and all(is_valid_credit_code(c) for c in codes)


def test_money_is_sent_as_decimal_strings_and_capital_never_exceeds_the_total(demo):
    totals: dict[str, Decimal] = {}
    arrived: dict[str, Decimal] = defaultdict(Decimal)
    for report in demo:
        p = report["payload"]
        if report["type"] == "project.proposed":
            totals[p["project_code"]] = Decimal(p["total_investment"])
        elif report["type"] == "project.corrected" and "total_investment" in p["changes"]:
            totals[p["project_code"]] = Decimal(p["changes"]["total_investment"])
        elif report["type"] == "project.capital_arrived":
            assert isinstance(p["amount"], str)
            arrived[p["project_code"]] += Decimal(p["amount"])
            assert arrived[p["project_code"]] <= totals[p["project_code"]]
    investments = sorted(totals.values())
    assert investments[0] < 1 and investments[-1] >= 20


def test_all_17_prefectures_report_their_leaders_and_projects(demo, prefectures):
    codes = {code for code, _ in prefectures}
    assert len(codes) == 17
    assert {r["source"] for r in demo} == {"office"} | {f"pref:{c}" for c in codes}
    roles = defaultdict(list)
    for report in demo:
        if report["type"] == "leader.appointed":
            roles[report["payload"]["unit"]].append(report["payload"]["role"])
    for code in codes:
        assert roles[code].count("principal") == roles[code].count("investment_lead") == 1
        assert 1 <= roles[code].count("other") <= 3


def test_every_demo_report_passes_the_contract(demo):
    for report in demo:
        validate_report(report, today=date(2020, 10, 1))


def test_every_malformed_report_is_refused_naming_the_field():
    rejects = demo_rejects()
    assert len(rejects) >= 4
    fields = set()
    for report in rejects:
        with pytest.raises(ReportInvalid) as refused:
            validate_report(report, today=date(2020, 10, 1))
        fields.add(refused.value.errors[0].field)
    assert {"payload.total_investment", "payload.region", "payload.credit_code", "type"} <= fields


# The oracle ---------------------------------------------------------------------------------


def test_the_oracle_ranks_all_17_and_the_units_differ(demo, prefectures):
    ranking = expected_ranking(demo, QUARTER, prefectures)
    assert sorted(region for region, _ in ranking) == sorted(code for code, _ in prefectures)
    totals = [Decimal(total) for _, total in ranking]
    assert totals == sorted(totals, reverse=True)
    assert totals[0] - totals[-1] > 50
    assert len(set(totals)) >= 12


class Reports:
    """A hand-made quarter: a factory of raw reports, each with a fresh event id."""

    def __init__(self) -> None:
        self.sent: list[dict] = []
        self.sources: dict[str, str] = {}

    def send(self, type_: str, source: str, on: str, **payload) -> str:
        event_id = str(uuid.uuid4())
        self.sent.append(
            {
                "event_id": event_id,
                "type": type_,
                "source": source,
                "occurred_on": on,
                "schema_version": 1,
                "payload": payload,
            }
        )
        return event_id

    def project(self, code, region, total, categories=(), fortune_500=False):
        investor = {"name": "某公司", "origin": "CN-44", "fortune_global_500": fortune_500}
        self.sources[code] = f"pref:{reference().prefecture_of(region).code}"
        self.send(
            "project.proposed",
            self.sources[code],
            "2020-06-01",
            project_code=code,
            investor=investor,
            region=region,
            total_investment=total,
            categories=list(categories),
        )

    def milestone(self, what: str, code: str, on: str, verify: bool = True, **fields) -> str:
        event_id = self.send(f"project.{what}", self.sources[code], on, project_code=code, **fields)
        if verify:
            self.send("milestone.verified", "office", on, milestone_event_id=event_id)
        return event_id

    def leader(self, unit: str) -> str:
        """An investment lead: 6 trips a year, 1.5 a quarter (二十一)."""
        leader_id = f"{unit}-lead"
        self.send(
            "leader.appointed",
            f"pref:{unit}",
            "2020-07-01",
            leader_id=leader_id,
            unit=unit,
            role="investment_lead",
        )
        return leader_id

    def trip(self, leader_id: str, returned_on: str) -> None:
        self.send(
            "leader.trip_completed",
            f"pref:{leader_id[:6]}",
            returned_on,
            leader_id=leader_id,
            destination="北京市",
            departed_on="2020-07-06",
            returned_on=returned_on,
            companies_met=[],
        )

    def task(self, unit: str, task_id: str, on: str) -> None:
        self.send("task.completed", f"pref:{unit}", on, task_id=task_id, unit=unit)


UNITS = [("420100", "武汉市"), ("420500", "宜昌市"), ("429021", "神农架林区")]
# 附件3 tasks of 各市、州、县人民政府 due in July 2020.
JULY_TASKS = ("propose_local_key_projects", "set_up_five_ones")


def scores(reports: Reports) -> dict[str, object]:
    return {unit.region: unit for unit in score_units(reports.sent, QUARTER, UNITS)}


def test_the_oracle_counts_verified_milestones_of_scored_projects_only():
    r = Reports()
    r.project("A", "420102", "25")  # key project, in a county of 武汉
    r.project("B", "420100", "30", categories=["real_estate"])  # large, but never key
    r.project("SMALL", "420100", "0.9")  # under 1亿: not scored
    r.project("C", "420506", "5")  # 宜昌 夷陵区
    r.milestone("construction_started", "A", "2020-07-10", kind="construction")
    r.milestone("construction_started", "B", "2020-07-12", kind="construction")
    r.milestone("construction_started", "SMALL", "2020-07-12", kind="construction")
    r.milestone("company_registered", "C", "2020-06-20", credit_code="-", company_name="-")
    r.milestone("capital_arrived", "A", "2020-08-01", amount="4")
    r.milestone("capital_arrived", "C", "2020-08-02", amount="2", verify=False)
    rejected = r.milestone("capital_arrived", "C", "2020-08-03", amount="1.5")
    r.send("milestone.rejected", "office", "2020-08-09", milestone_event_id=rejected, reason="-")
    r.milestone("capital_arrived", "C", "2020-08-04", amount="1")

    units = scores(r)

    wuhan, yichang = units["420100"], units["420500"]
    assert wuhan.actuals["construction_starts"] == 2
    assert wuhan.actuals["key_project_landings"] == 1
    assert yichang.actuals["registrations"] == 0  # registered in the second quarter
    assert yichang.actuals["capital_arrived"] == 1  # neither the unverified nor the rejected
    assert yichang.points["capital_arrived"] == Decimal("6.25")  # 25 × 1 / 4
    assert sum(wuhan.points.values()) == 55  # starts 20, capital 25, key projects 10
    assert sum(units["429021"].points.values()) == 0


def test_the_oracle_scores_trips_against_the_quarters_share_and_shennongjia_pro_rata():
    r = Reports()
    wuhan, yichang, shennongjia = (r.leader(code) for code, _ in UNITS)
    for leader_id, returned_on in [
        (wuhan, "2020-07-10"),
        (wuhan, "2020-08-10"),
        (yichang, "2020-08-11"),
        (yichang, "2020-06-30"),  # the quarter before
        (shennongjia, "2020-08-12"),
    ]:
        r.trip(leader_id, returned_on)
    r.project("S", "429021", "3")
    r.milestone("capital_arrived", "S", "2020-08-01", amount="1")
    r.project("W", "420100", "3")
    r.milestone("capital_arrived", "W", "2020-08-01", amount="3")

    units = scores(r)

    assert units["420100"].actuals["leader_trips"] == 1  # 2 trips over 1.5, capped
    assert units["420500"].points["leader_trips"] == Decimal("6.67")  # 1 over 1.5, of 10
    assert units["429021"].points["capital_arrived"] == Decimal("8.33")
    assert units["429021"].points["leader_trips"] == Decimal("0.93")  # 10 × 8.33 / 90
    # Each still owes its two July 附件3 tasks: −2.
    assert expected_ranking(r.sent, QUARTER, UNITS) == [
        ("420100", "33.00"),
        ("429021", "7.26"),
        ("420500", "4.67"),
    ]


def test_the_oracle_adds_the_fortune_500_bonus_and_takes_off_retractions_and_late_tasks():
    r = Reports()
    for n in range(4):
        r.project(f"F{n}", "420100", "8", fortune_500=True)
        r.milestone("construction_started", f"F{n}", "2020-08-01", kind="construction")
    r.project("Y", "420500", "8")
    false_start = r.milestone("construction_started", "Y", "2020-07-20", kind="construction")
    r.send(
        "milestone.retracted",
        "pref:420500",
        "2020-08-20",
        milestone_event_id=false_start,
        reason="-",
    )
    for task_id in JULY_TASKS:
        r.task("420100", task_id, "2020-07-20")
        r.task("429021", task_id, "2020-07-31")
    r.task("420500", JULY_TASKS[0], "2020-07-31")
    r.task("420500", JULY_TASKS[1], "2020-08-01")  # late

    units = scores(r)

    assert units["420100"].adjustments["fortune_global_500_landing"] == 3  # 4, capped at 3
    assert units["420500"].adjustments == {
        "fortune_global_500_landing": 0,
        "retracted_report": -2,
        "overdue_task": -1,
    }
    assert set(units["429021"].adjustments.values()) == {0}


def test_a_load_split_by_subject_keeps_each_project_and_leader_in_one_stream_in_order():
    """The single-event benchmark's senders: many per 市州, each project's and leader's reports
    in one sender's stream, in publication order, every report sent exactly once."""
    from tools.loadgen import generate_load, sender_streams

    load = generate_load(3000, seed=3)
    senders = sender_streams(load, 24, office=8, by_subject=True)

    sent = [r["event_id"] for streams in senders for s in streams.values() for r in s]
    assert sorted(sent) == sorted(r["event_id"] for r in load)
    position = {r["event_id"]: i for i, r in enumerate(load)}
    where: dict[str, int] = {}
    for n, streams in enumerate(senders):
        for stream in streams.values():
            assert [position[r["event_id"]] for r in stream] == sorted(
                position[r["event_id"]] for r in stream
            )
            for report in stream:
                subject = report["payload"].get("project_code") or report["payload"].get(
                    "leader_id"
                )
                if subject and report["source"] != "office":
                    assert where.setdefault(subject, n) == n, subject
    assert len(senders) == 32 and len(set(where.values())) == 24
