"""Notify's part of the office's follow-up (十九)(十五), in memory: the circular's letter lists
the 约谈 commitments still open, a commitment with a due date is reminded like a task, and the
year's rewards (`reward.decided`) are circulated once, as the yearly circular."""

from __future__ import annotations

from datetime import date

from services.notify.config import Recipients
from services.notify.domain import CIRCULAR, REMINDER
from services.notify.yearly import commitment_deadlines
from tests.notify_support import (
    WUHAN,
    FakeClock,
    RecordingTransport,
    contacts,
    make_app,
    make_ranking,
    no_gap,
    published,
)

COMMITMENT = {
    "summons_event_id": "5e0a3c1e-1111-4a2b-9c3d-0e1f2a3b4c5d",
    "unit": WUHAN,
    "quarter": "2020Q2",
    "held_on": "2020-07-20",
    "key": "c1",
    "text": "三季度新增亿元以上项目注册 3 个",
    "due": "2020-09-30",
    "status": "in_progress",
    "latest": {"on": "2020-08-01", "text": "已注册 1 个", "status": "in_progress"},
}


def rewards_message(on: str = "2021-01-20") -> dict:
    event = {
        "service": "scoring",
        "notification_id": 1,
        "version": 1,
        "type": "reward.decided",
        "event_id": "8f1e2d3c-2222-4b5a-8c7d-1e2f3a4b5c6d",
        "source": "office",
        "occurred_on": on,
        "recorded_at": f"{on}T02:00:00+00:00",
        "payload": {
            "year": "2020",
            "rewards": [{"unit": WUHAN, "reward_class": "一类"}],
            "basis": "按产业基础分类分档",
            "rule": "mean_of_quarters",
            "results": [
                {
                    "region": WUHAN,
                    "name": "武汉市",
                    "rank": 1,
                    "result": "80.50",
                    "summoned_in_year": False,
                },
            ],
        },
    }
    return {"service": "scoring", "first": 1, "last": 1, "events": [event]}


def test_the_circulars_letter_lists_the_commitments_still_open(tmp_path):
    mail = RecordingTransport()
    app = make_app(tmp_path, transports={"email": mail})
    message = published(make_ranking())
    message["events"][0]["payload"]["open_commitments"] = [COMMITMENT]

    app.follower.receive(message, no_gap)
    app.deliver_due()

    letter = next(o for o in mail.sent if o.kind == CIRCULAR and o.unit == WUHAN)
    assert "约谈整改承诺尚未完成的事项" in letter.text
    assert "三季度新增亿元以上项目注册 3 个，时限 2020-09-30；最新进展：已注册 1 个" in letter.text


def test_only_an_open_commitment_with_a_due_date_is_reminded():
    (deadline,) = commitment_deadlines([COMMITMENT, {**COMMITMENT, "key": "c2", "due": None}])
    assert (deadline.due, deadline.units) == (date(2020, 9, 30), frozenset({WUHAN}))


def test_the_reminder_names_the_commitment(tmp_path):
    clock = FakeClock()
    app = make_app(
        tmp_path, recipients=Recipients({WUHAN: contacts(WUHAN, "z@w.example")}), clock=clock
    )
    clock.set_day("2020-09-29")

    app.issue_reminders(commitment_deadlines([COMMITMENT]))
    app.issue_reminders(commitment_deadlines([COMMITMENT]))  # hourly: nothing new

    (notice,) = [n for n in app.notices.values() if n.about.startswith("commitment:")]
    assert (notice.kind, notice.stage) == (REMINDER, "before-1d")
    assert "约谈整改承诺事项" in notice.subject and "三季度新增亿元以上项目注册" in notice.text


def test_the_years_rewards_are_circulated_once(tmp_path):
    mail = RecordingTransport()
    app = make_app(tmp_path, transports={"email": mail})

    app.follower.receive(rewards_message(), no_gap)
    app.follower.receive(rewards_message(), no_gap)  # redelivered
    app.deliver_due()

    (written,) = (tmp_path / "circulars").glob("2020-yearly-*.md")
    text = written.read_text(encoding="utf-8")
    assert text.startswith("# 关于2020年度全省招商引资工作考核结果的通报")
    assert "| 1 | 武汉市 | 80.50 |" in text and "- 武汉市：一类" in text
    yearly = [o for o in mail.sent if o.subject.startswith("关于2020年度")]
    assert len(yearly) == len({o.unit for o in yearly}) >= 1
    assert "成效突出、给予一次性奖励的市州：武汉市" in yearly[0].text
