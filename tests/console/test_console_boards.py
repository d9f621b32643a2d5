"""A 市州's scorecard over its year (trend, targets, late reports, 约谈 follow-up), the 督办
boards (leaders' trips, themed events, 附件3 tasks, 附件4 matters) with red/amber/green, a
project's chain checked against the signed tree heads, and open commitments under 待办: the
data on its own, then in Debian's chromium against one running system (marker `browser`)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from datetime import date

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from services.console import chain, trends, views
from tests.console.conftest import QUARTER, shot, sign_in
from zhaoshang.proofs import Keyring, head_message, leaf_hash

TODAY = date(2020, 11, 15)
REVIEWER, WUHAN_CLERK = "office.reviewer", "clerk.420100"


def card(total: str, rank: int, published: bool = True, summoned: bool = False) -> dict:
    return {"row": {"total": total, "rank": rank}, "published": published, "summoned": summoned}


def test_the_trend_runs_over_the_year_and_leaves_unreadable_quarters_as_gaps():
    assert trends.year_quarters("2020Q3") == ["2020Q1", "2020Q2", "2020Q3"]
    trend = trends.trend(
        {"2020Q1": None, "2020Q2": card("-2.00", 12, False), "2020Q3": card("2.33", 15, True, True)}
    )
    assert trend.totals == [None, -2.0, 2.33] and trend.ranks == [None, 12, 15]
    assert trend.published == [False, False, True]
    assert trend.rows[2]["summoned"] and trend.rows[0]["total"] is None


def test_the_scorecard_names_its_indicators_and_colours_its_targets():
    scorecard = {
        "row": {
            "indicators": {
                "capital_arrived": {
                    "actual": "30.89",
                    "target": "100",
                    "points": "12.4",
                    "basis": "target",
                }
            }
        },
        "targets": [
            {"indicator": "registrations", "quarter_target": "10.00", "quarter_actual": "10"},
            {"indicator": "capital_arrived", "quarter_target": "100", "quarter_actual": "30.89"},
            {"indicator": "production_starts", "quarter_target": "2", "quarter_actual": "0"},
        ],
    }
    (row,) = trends.indicator_rows(scorecard)
    assert (row["name"], row["actual"], row["target"], row["basis"]) == (
        "到资（亿元）",
        "30.89",
        "100",
        "对照目标",
    )
    assert [t["colour"] for t in trends.target_rows(scorecard)] == ["green", "amber", "red"]


def commitment(due: str, latest: dict | None = None) -> dict:
    return {
        "summons_event_id": "e1",
        "unit": "421300",
        "quarter": "2020Q3",
        "held_on": "2020-10-20",
        "key": "c1",
        "text": "下季度新增注册亿元以上项目 3 个",
        "due": due,
        "status": "in_progress",
        "latest": latest,
    }


def test_open_commitments_turn_red_past_their_due_day_and_show_their_latest_progress():
    latest = {"on": "2020-11-01", "text": "已注册 1 个", "status": "in_progress"}
    follow = trends.follow_up(
        {"commitments": [commitment("2020-12-31", latest), commitment("2020-11-01")]}, TODAY
    )
    assert [c["colour"] for c in follow] == ["amber", "red"]
    assert follow[0]["latest_text"] == "已注册 1 个" and follow[0]["status_zh"] == "推进中"
    warnings = views.warnings({"tasks": []}, {"matters": []}, [], follow)
    assert [(w.colour, w.kind) for w in warnings] == [("red", "约谈整改"), ("amber", "约谈整改")]
    assert "下季度新增注册" in warnings[0].title


def leader(unit: str, trips: int, quota: int | None, exempt: bool = False) -> dict:
    met = quota is not None and trips >= quota
    return {"unit": unit, "trips": trips, "quota": quota, "exempt": exempt, "met": met}


def test_the_trips_board_is_red_for_a_past_year_missed_amber_for_this_year_green_when_met():
    progress = {
        "year": 2020,
        "leaders": [
            leader("420100", 3, 6),
            leader("429021", 0, None, True),
            leader("420500", 6, 6),
        ],
        "units": [
            {"unit": "420100", "leaders_of": "government", "trips": 3, "quota": 6, "met": False}
        ],
        "lalian_sites": [],
    }
    past = trends.trip_board(progress, date(2021, 3, 1))
    assert [(row["unit"], row["colour"]) for row in past["leaders"]] == [
        ("420100", "red"),
        ("429021", "green"),  # 神农架林区's government leaders are exempt
        ("420500", "green"),
    ]
    assert past["units"][0]["unit_name"] == "武汉市" and past["counts"]["red"] == 1
    now = trends.trip_board(progress, TODAY)
    assert now["leaders"][0]["colour"] == "amber"


def test_the_events_board_counts_each_key_region_against_the_minimum():
    events = {
        "key_regions": {"greater_bay_area": "粤港澳大湾区", "yangtze_delta": "长三角"},
        "minimum": 2,
        "year": 2020,
        "prefectures": [
            {
                "unit": "420100",
                "name": "武汉市",
                "met": True,
                "in_key_regions": 2,
                "by_region": {"yangtze_delta": 1, "greater_bay_area": 1},
            },
            {
                "unit": "421300",
                "name": "随州市",
                "met": False,
                "in_key_regions": 1,
                "by_region": {"yangtze_delta": 1},
            },
        ],
    }
    board = trends.event_board(events, date(2021, 1, 5))
    assert board["regions"] == ["粤港澳大湾区", "长三角"]
    assert [(r["name"], r["colour"], r["by_region_list"]) for r in board["rows"]] == [
        ("随州市", "red", [0, 1]),
        ("武汉市", "green", [1, 1]),
    ]


def test_tasks_and_matters_are_coloured_by_their_status_red_first():
    tasks = trends.task_board(
        {
            "as_of": "2020-11-15",
            "tasks": [
                {"title": "建立领导小组", "unit": "420100", "status": "done"},
                {"title": "制定行动计划", "unit": "420100", "status": "overdue"},
                {"title": "领导外出招商", "unit": "420100", "status": "due"},
            ],
        }
    )
    assert [(t["title"], t["colour"]) for t in tasks["rows"]] == [
        ("制定行动计划", "red"),
        ("领导外出招商", "amber"),
        ("建立领导小组", "green"),
    ]
    matters = trends.matter_board(
        {
            "matters": [
                {
                    "item": "甲",
                    "unit": "dept:fagai",
                    "status": "in_progress",
                    "overdue": True,
                    "latest": {"progress": "正在报批"},
                },
                {"item": "乙", "unit": "420100", "status": "done", "overdue": True, "latest": None},
            ]
        }
    )
    assert [(m["item"], m["colour"], m["latest_text"]) for m in matters["rows"]] == [
        ("甲", "red", "正在报批"),
        ("乙", "green", ""),
    ]
    assert matters["rows"][1]["unit_name"] == "武汉市"


def test_a_person_s_boards_default_to_their_own_unit():
    assert trends.board_unit("pref:420100") == "420100"
    assert trends.board_unit("county:420102") == "420102"
    assert trends.board_unit("dept:fagai") == "dept:fagai"
    assert trends.board_unit("office") == "" and trends.board_unit("auditor:dev") == ""


class Log:
    """A two-event store log with its RFC 9162 tree and a head signed by a real key."""

    def __init__(self) -> None:
        self.data = [b"zhaoshang-event-v1\n1\nevent-a\n", b"zhaoshang-event-v1\n2\nevent-b\n"]
        leaves = [leaf_hash(d) for d in self.data]
        root = hashlib.sha256(b"\x01" + leaves[0] + leaves[1]).digest()
        key = Ed25519PrivateKey.generate()
        raw = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        key_id = hashlib.sha256(raw).hexdigest()
        head = {
            "store": "tracking",
            "size": 2,
            "root": root.hex(),
            "time": "2020-10-12T00:00:00Z",
            "key_id": key_id,
        }
        self.head = {**head, "signature": base64.b64encode(key.sign(head_message(head))).decode()}
        self.ring = Keyring({key_id: key.public_key()})
        self.paths = [[leaves[1]], [leaves[0]]]

    def prove(self, store: str, event_id: str, size: int) -> dict | None:
        index = next((i for i, d in enumerate(self.data) if event_id.encode() in d), None)
        if index is None:
            return None
        return {
            "notification_id": index + 1,
            "leaf_index": index,
            "tree_size": size,
            "leaf_hash": leaf_hash(self.data[index]).hex(),
            "leaf_data": self.data[index],
            "path": [p.hex() for p in self.paths[index]],
        }


def entry(event_id: str) -> dict:
    return {"service": "tracking", "event_id": event_id, "type": "project.capital_arrived"}


def test_a_project_s_chain_holds_when_every_event_folds_into_the_signed_head():
    log = Log()
    check = chain.check_chain(
        [entry("event-a"), entry("event-b")], {"tracking": log.head}, log.ring, log.prove
    )
    assert check.verdict == chain.HELD and check.count(chain.HELD) == 2
    assert [e.position for e in check.events] == [1, 2] and check.heads[0]["signed"]


def test_an_event_after_the_head_is_pending_and_a_rewritten_one_or_a_forged_head_broken():
    log = Log()
    later = chain.check_chain(
        [entry("event-a"), entry("event-c")], {"tracking": log.head}, log.ring, log.prove
    )
    assert later.verdict == chain.PENDING and later.count(chain.PENDING) == 1
    log.data[1] = b"zhaoshang-event-v1\n2\nevent-b rewritten\n"
    rewritten = chain.check_chain([entry("event-b")], {"tracking": log.head}, log.ring, log.prove)
    assert rewritten.verdict == chain.BROKEN
    forged = {**log.head, "root": "00" * 32}
    check = chain.check_chain([entry("event-a")], {"tracking": forged}, log.ring, log.prove)
    assert check.verdict == chain.BROKEN and not check.heads[0]["signed"]


def test_the_keyring_is_read_again_when_a_rotation_adds_a_key(tmp_path):
    path = tmp_path / "keyring.json"
    assert chain.keyring(str(path)) is None  # none published: the check cannot be made
    keys = []
    for _ in range(2):
        raw = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        keys.append(
            {
                "key_id": hashlib.sha256(raw).hexdigest(),
                "public_key": base64.b64encode(raw).decode(),
            }
        )
        path.write_text(json.dumps({"keys": keys}))
        os.utime(path, ns=(len(keys), len(keys)))  # a new modification time per write
        ring = chain.keyring(str(path))
        assert ring is not None and set(ring.keys) == {k["key_id"] for k in keys}


# In the browser, against the running system ------------------------------------------------


@pytest.mark.browser
@pytest.mark.rabbit
def test_a_summoned_prefecture_s_scorecard_shows_its_trend_targets_and_follow_up(
    console_system, page
):
    with console_system.office() as office:
        open_ = office.open_commitments()["commitments"]
    assert open_, "the demo holds a summons with an open commitment"
    summoned = open_[0]["unit"]
    sign_in(page, console_system, REVIEWER)
    page.goto(f"{console_system.url}/scorecard/{summoned}?quarter={QUARTER}")
    assert "注册" in page.inner_text("#indicators")
    page.wait_for_selector("#trend-chart[data-ready='1'] canvas")
    quarters = page.locator("#trend-table tbody tr")
    assert quarters.count() == int(QUARTER[5])
    assert "约谈" in quarters.last.inner_text()
    followup = page.inner_text("#followup")
    assert open_[0]["text"] in followup and open_[0]["latest"]["text"] in followup
    shot(page, "scorecard-trend")
    page.goto(f"{console_system.url}/scorecard/420100?quarter={QUARTER}")
    assert page.locator("#targets tbody tr").count() > 0  # the office set 武汉市's targets
    page.goto(f"{console_system.url}/todo")
    assert "约谈整改" in page.inner_text("#todo")


@pytest.mark.browser
@pytest.mark.rabbit
def test_the_office_reads_every_board_with_red_amber_and_green(console_system, page):
    sign_in(page, console_system, REVIEWER)
    page.click("nav >> text=督办看板")
    assert f"{QUARTER[:4]} 年" in page.inner_text("main")  # the year of the latest ranking
    units = page.locator("#board-units tbody tr td:nth-child(2)").all_inner_texts()
    assert {"武汉市", "宜昌市", "恩施土家族苗族自治州"} <= set(units)
    assert page.locator("#board-leaders tbody tr.red").count() > 0
    shot(page, "board-trips")
    page.goto(f"{console_system.url}/boards/events")
    assert page.locator("#board-events tbody tr").count() == 17
    assert page.locator("#board-events tbody tr.green").count() > 0
    shot(page, "board-events")
    page.goto(f"{console_system.url}/boards/tasks")
    assert page.locator("#board-tasks tbody tr.red").count() > 0  # overdue 附件3 tasks
    page.goto(f"{console_system.url}/boards/matters?unit=420100")
    units = page.locator("#board-matters tbody tr td:nth-child(4)").all_inner_texts()
    assert units and set(units) == {"武汉市"}
    shot(page, "board-matters")


@pytest.mark.browser
@pytest.mark.rabbit
def test_a_clerk_sees_their_own_boards_and_is_refused_another_prefecture_s(console_system, page):
    sign_in(page, console_system, WUHAN_CLERK)
    page.goto(f"{console_system.url}/boards/events")
    assert page.locator("#board-events tbody tr").all_inner_texts()[0].count("武汉市") == 1
    assert page.locator("#board-events tbody tr").count() == 1
    answer = page.goto(f"{console_system.url}/boards/trips?unit=420500")
    assert answer.status == 403 and "无权查看" in page.inner_text("main")
    answer = page.goto(f"{console_system.url}/boards/tasks?unit=420500")
    assert answer.status == 403


@pytest.mark.browser
@pytest.mark.rabbit
def test_a_project_s_chain_is_checked_for_the_office_and_withheld_from_a_clerk(
    console_system, page, browser
):
    with console_system.office() as office:
        code = office.list_projects(region="420100", register=True)["projects"][0]["project_code"]
    sign_in(page, console_system, REVIEWER)
    page.goto(f"{console_system.url}/projects/{code}")
    verdict = page.wait_for_selector("#chain-verdict").inner_text()
    assert "核验通过" in verdict or "已核验" in verdict, verdict
    assert page.locator("#chain-heads tbody tr .tag.green").count() > 0
    assert page.locator("#chain-events .tag.red").count() == 0
    shot(page, "project-chain")
    other = browser.new_context()
    try:
        clerk = other.new_page()
        sign_in(clerk, console_system, WUHAN_CLERK)
        clerk.goto(f"{console_system.url}/projects/{code}")
        note = clerk.wait_for_selector("#chain").inner_text()
        assert "仅对省招商引资工作领导小组办公室和审计人员开放" in note
    finally:
        other.close()
