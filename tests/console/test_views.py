"""The data the console's pages show, from answers shaped as the gateway gives them."""

from __future__ import annotations

from services.console import views
from services.console.review import decisions


def ranking_rows() -> list[dict]:
    names = views.map_names()
    return [
        {
            "rank": i + 1,
            "region": code,
            "name": name,
            "total": f"{90 - i}.50",
            "tier": None,
            "indicators": {"registrations": {"actual": str(10 - i % 3), "points": "1"}},
        }
        for i, (code, name) in enumerate(sorted(names.items()))
    ]


def test_the_map_knows_the_17_prefectures_by_their_codes():
    names = views.map_names()
    assert len(names) == 17
    assert names["420100"] == "武汉市" and names["429021"] == "神农架林区"


def test_a_prefecture_user_sees_its_own_card_first_and_the_map_every_prefecture():
    ranking = {
        "quarter": "2020Q3",
        "published": True,
        "hash": "ab",
        "rows": ranking_rows(),
        "summons": ["429021"],
    }
    board = views.dashboard(ranking, "pref:420500")
    assert board.own is not None and board.own["region"] == "420500"
    assert board.rows[0]["region"] == "420500" and len(board.rows) == 17
    assert {d["region"] for d in board.map_data} == set(views.map_names())
    wuhan = next(d for d in board.map_data if d["region"] == "420100")
    assert wuhan == {
        "name": "武汉市",
        "value": 90.5,
        "rank": 1,
        "region": "420100",
        "total": "90.50",
    }
    assert board.summons == ["神农架林区"]
    county = views.dashboard(ranking, "county:420102")  # 江岸区: 武汉市's card first
    assert county.own is not None and county.own["region"] == "420100"
    office = views.dashboard(ranking, "office")
    assert office.own is None and office.rows[0]["rank"] == 1


def test_quarters_run_back_and_a_ranking_without_reports_is_told_apart():
    assert views.quarters_back("2020Q3", "2021Q2") == ["2021Q2", "2021Q1", "2020Q4", "2020Q3"]
    empty = {"rows": [{"indicators": {"registrations": {"actual": "0"}}}]}
    assert not views.has_reports(empty) and views.has_reports({"rows": ranking_rows()})


def listing(count: int) -> dict:
    return {
        "projects": [
            {
                "project_code": f"420100-{i:04d}",
                "name": f"武汉项目{i}" if i % 2 else f"光谷{i}",
                "region": "420111" if i % 3 else "420100",
                "prefecture": "420100",
                "industry": "automobile" if i % 4 else "biomedicine",
                "industry_name": None,
                "investor": "东风" if i % 5 == 0 else "某公司",
                "key_project": i % 7 == 0,
            }
            for i in range(count)
        ]
    }


def test_the_register_filters_by_text_industry_region_and_key_project_and_pages():
    everything = views.project_page(listing(120), views.ProjectFilter(), size=50)
    assert (everything.count, everything.pages, len(everything.projects)) == (120, 3, 50)
    last = views.project_page(listing(120), views.ProjectFilter(page=99), size=50)
    assert last.page == 3 and len(last.projects) == 20
    text = views.project_page(listing(120), views.ProjectFilter(text="光谷"))
    assert text.count == 60 and all("光谷" in p["name"] for p in text.projects)
    investor = views.project_page(listing(120), views.ProjectFilter(text="东风"))
    assert investor.count == 24
    narrowed = views.ProjectFilter(industry="biomedicine", region="420111", key_only=True)
    chosen = views.project_page(listing(120), narrowed).projects
    assert chosen and all(
        p["industry"] == "biomedicine" and p["key_project"] and p["region"] == "420111"
        for p in chosen
    )


def test_a_filter_from_the_query_string_is_bounded():
    wanted = views.ProjectFilter.of({"list": "nonsense", "page": "-3", "q": "x" * 500})
    assert wanted.list_name == "" and wanted.page == 1 and len(wanted.text) == 100
    assert views.ProjectFilter.of({"page": "abc", "list": "signed"}).list_name == "signed"


def test_the_review_queue_groups_by_prefecture_and_type_oldest_first():
    items = [
        {
            "event_id": "c",
            "type": "milestone.capital_arrived",
            "prefecture": "420500",
            "occurred_on": "2020-09-03",
        },
        {
            "event_id": "a",
            "type": "milestone.capital_arrived",
            "prefecture": "420100",
            "occurred_on": "2020-09-02",
        },
        {
            "event_id": "b",
            "type": "milestone.capital_arrived",
            "prefecture": "420100",
            "occurred_on": "2020-08-01",
        },
        {
            "event_id": "d",
            "type": "milestone.registered",
            "prefecture": "420100",
            "occurred_on": "2020-09-09",
        },
    ]
    groups = views.review_groups(items)
    assert [(g.region_name, g.report_type) for g in groups] == [
        ("武汉市", "milestone.capital_arrived"),
        ("宜昌市", "milestone.capital_arrived"),
        ("武汉市", "milestone.registered"),
    ]
    assert [i["event_id"] for i in groups[0].items] == ["b", "a"]


def test_only_reported_milestones_await_review_and_rejected_ones_go_back_with_the_reason():
    project = {"project_code": "P1", "name": "甲", "region": "420111", "prefecture": "420100"}
    milestones = {
        "milestones": [
            {"event_id": "1", "kind": "registered", "kind_zh": "注册", "status": "verified"},
            {"event_id": "2", "kind": "capital_arrived", "kind_zh": "到资", "status": "reported"},
            {
                "event_id": "3",
                "kind": "capital_arrived",
                "kind_zh": "到资",
                "status": "rejected",
                "checks": [{"status": "rejected", "reason": "凭证不全"}],
            },
        ]
    }
    assert [i["event_id"] for i in views.awaiting_from_milestones(project, milestones)] == ["2"]
    (back,) = views.sent_back(project, milestones)
    assert back["reason"] == "凭证不全" and back["project_code"] == "P1"


def test_warnings_are_red_amber_green_red_first():
    tasks = {
        "tasks": [
            {"title": "任务甲", "unit": "420100", "deadline": "2020-06-30", "status": "done"},
            {"title": "任务乙", "unit": "420100", "deadline": "2020-05-31", "status": "overdue"},
            {"title": "任务丙", "unit": "420100", "deadline": "2020-12-31", "status": "due"},
        ]
    }
    matters = {
        "matters": [
            {
                "item": "事项",
                "unit": "420100",
                "due": "2020-12-31",
                "status": "in_progress",
                "overdue": True,
            },
        ]
    }
    back = [
        {
            "project_code": "P1",
            "type_zh": "到资",
            "reason": "凭证不全",
            "source": "pref:420100",
            "occurred_on": "2020-09-01",
        }
    ]
    found = views.warnings(tasks, matters, back)
    assert [w.colour for w in found] == ["red", "red", "red", "amber", "green"]
    assert {w.kind for w in found if w.colour == "red"} == {"附件3", "附件4", "退回"}


def test_a_decision_is_one_report_per_item_the_same_form_twice_counting_once():
    ids = ["6f1c5c55-7d7e-4d59-9a55-6e0d5ab0c0aa", "0d1c5c55-7d7e-4d59-9a55-6e0d5ab0c0bb"]
    chosen = [f"milestone:{ids[0]}", f"report:{ids[1]}"]
    first = decisions("reject", chosen, "凭证不全")
    again = decisions("reject", chosen, "凭证不全")
    assert [r["event_id"] for r in first] == [r["event_id"] for r in again]
    assert [r["type"] for r in first] == ["milestone.rejected", "report.rejected"]
    assert first[0]["payload"] == {"milestone_event_id": ids[0], "reason": "凭证不全"}
    assert first[1]["payload"] == {"report_event_id": ids[1], "reason": "凭证不全"}
    (verified,) = decisions("verify", chosen[:1], "")
    assert verified["type"] == "milestone.verified" and verified["source"] == "office"
    assert verified["payload"] == {"milestone_event_id": ids[0]}
    assert verified["event_id"] != first[0]["event_id"]


def test_a_queue_item_names_its_prefecture_kind_and_project():
    item = views.queue_item(
        {
            "event_id": "e",
            "type": "project.capital_arrived",
            "unit": "420111",
            "project_code": "420100-01",
            "project": {"name": "光谷项目"},
            "payload": {"amount": "1.5"},
            "recorded_at": "2020-09-01T00:00:00+00:00",
        }
    )
    assert (item["decision"], item["type_zh"], item["prefecture"]) == (
        "milestone",
        "到资",
        "420100",
    )
    assert (item["project_name"], item["amount"]) == ("光谷项目", "1.5")
    trip = views.queue_item(
        {
            "event_id": "t",
            "type": "leader.trip_completed",
            "unit": "429021",
            "project_code": None,
            "payload": {},
        }
    )
    assert (trip["decision"], trip["prefecture"]) == ("report", "429021")
