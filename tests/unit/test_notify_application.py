"""NotifyApplication in memory with hand-written transports: what a publication issues, the
reminder calendar driven by a clock the test moves, retries, and the queries."""

from __future__ import annotations

import hashlib
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import pytest
from eventsourcing.persistence import StoredEvent

from services.kernel.contract import ids
from services.notify.config import Recipients
from services.notify.domain import CIRCULAR, REMINDER, SUMMONS, Circular
from tests.notify_support import (
    SHENNONGJIA,
    WUHAN,
    FakeClock,
    RecordingTransport,
    RefusingTransport,
    contacts,
    make_app,
    make_ranking,
    no_gap,
    published,
    ranking_hash,
    task_done,
    tracking_message,
)


def test_a_publication_writes_the_circular_and_issues_circulars_and_summons(tmp_path):
    mail = RecordingTransport()
    app = make_app(tmp_path, transports={"email": mail})
    ranking = make_ranking()

    app.follower.receive(published(ranking), no_gap)
    app.deliver_due()

    files = app.circular_files(ranking_hash(ranking))
    assert [f.rsplit(".", 1)[1] for f in files] == ["md", "html", "docx"]
    sent = sorted((o.kind, o.unit, o.address) for o in mail.sent)
    assert sent == [
        (CIRCULAR, WUHAN, "zsj@wuhan.example"),
        (CIRCULAR, SHENNONGJIA, "zsj@snj.example"),
        (SUMMONS, SHENNONGJIA, "zhangsan@snj.example"),
    ]
    summons = next(o for o in mail.sent if o.kind == SUMMONS)
    assert summons.subject == "关于对神农架林区招商引资工作进行约谈的通知"
    assert "位列第 17 名" in summons.text
    assert "分管招商的政府负责人张三" in summons.text
    assert [a.filename for a in summons.attachments] == [
        "关于2020年第三季度全省招商引资工作评分排名情况的通报.docx"
    ]


def test_the_attachment_is_the_docx_file_written_at_publication(tmp_path):
    mail = RecordingTransport()
    app = make_app(tmp_path, transports={"email": mail})
    ranking = make_ranking()

    app.follower.receive(published(ranking), no_gap)
    app.deliver_due()

    docx_file = next(f for f in app.circular_files(ranking_hash(ranking)) if f.endswith(".docx"))
    with open(docx_file, "rb") as written:
        assert {o.attachments[0].content for o in mail.sent} == {written.read()}


def test_a_redelivered_publication_issues_and_sends_nothing_new(tmp_path):
    mail = RecordingTransport()
    app = make_app(tmp_path, transports={"email": mail})
    ranking = make_ranking()
    app.follower.receive(published(ranking), no_gap)
    app.deliver_due()
    before = (len(app.notices), len(mail.sent))

    app.follower.receive(published(ranking), no_gap)  # the same message again
    # republished, at a later position
    app.follower.receive(published(ranking, notification_id=2), no_gap)
    app.deliver_due()

    assert (len(app.notices), len(mail.sent)) == before


def test_a_summoned_unit_without_leaders_gets_the_summons_at_its_own_address(tmp_path):
    mail = RecordingTransport()
    recipients = Recipients({"429006": contacts("429006", "zsj@tianmen.example")})
    app = make_app(tmp_path, transports={"email": mail}, recipients=recipients)

    app.follower.receive(published(make_ranking()), no_gap)
    app.deliver_due()

    assert Counter((o.kind, o.address) for o in mail.sent) == {
        (CIRCULAR, "zsj@tianmen.example"): 1,
        (SUMMONS, "zsj@tianmen.example"): 1,
    }


def test_failed_deliveries_are_retried_with_back_off_and_given_up_after_n_tries(tmp_path):
    clock = FakeClock()
    refusing = RefusingTransport("SMTP 127.0.0.1:25 不可用：ConnectionRefusedError")
    recipients = Recipients({WUHAN: contacts(WUHAN, "zsj@wuhan.example")})
    app = make_app(tmp_path, transports={"email": refusing}, clock=clock, recipients=recipients)
    app.follower.receive(published(make_ranking()), no_gap)

    tries = [app.deliver_due()]
    for minutes in (0.5, 0.5, 2, 5):
        clock.advance(minutes=minutes)
        tries.append(app.deliver_due())

    assert tries == [1, 0, 1, 1, 0]  # after 1 min, then 2 min more; 3 attempts in all
    (row,) = app.failures()
    assert row["status"] == "given_up"
    assert [f["attempt"] for f in row["failures"]] == [1, 2, 3]
    assert "ConnectionRefusedError" in row["failures"][0]["reason"]


def test_a_mail_server_that_is_down_costs_one_attempt_per_round_not_one_per_notice(tmp_path):
    refusing = RefusingTransport("SMTP 127.0.0.1:25 不可用：TimeoutError")
    app = make_app(tmp_path, transports={"email": refusing})
    app.follower.receive(published(make_ranking()), no_gap)

    assert app.deliver_due() == 1
    assert refusing.tries == 1
    assert sorted(row["status"] for row in app.deliveries()) == ["failed", "pending", "pending"]


def test_a_permanent_refusal_is_given_up_at_once_and_a_missing_channel_says_so(tmp_path):
    recipients = Recipients({WUHAN: contacts(WUHAN, "x@wuhan.example", webhook="http://h/x")})
    app = make_app(
        tmp_path,
        recipients=recipients,
        transports={"email": RefusingTransport("550 no such user", permanent=True)},
    )
    app.follower.receive(published(make_ranking()), no_gap)

    assert app.deliver_due() == 2
    reasons = {row["channel"]: row["failures"][0]["reason"] for row in app.failures()}
    assert reasons == {"email": "550 no such user", "webhook": "没有配置 webhook 发送通道"}
    assert {row["status"] for row in app.failures()} == {"given_up"}


def test_queries_say_what_was_sent_to_whom_and_when(tmp_path):
    clock = FakeClock()
    app = make_app(tmp_path, transports={"email": RecordingTransport()}, clock=clock)
    app.follower.receive(published(make_ranking()), no_gap)
    clock.advance(seconds=30)
    app.deliver_due()

    rows = app.deliveries(unit=SHENNONGJIA, status="sent")

    assert [(r["kind"], r["address"]) for r in rows] == [
        (CIRCULAR, "zsj@snj.example"),
        (SUMMONS, "zhangsan@snj.example"),
    ]
    assert {r["sent_at"] for r in rows} == {clock.now().isoformat()}
    assert {r["attempts"] for r in rows} == {1}
    assert app.deliveries(kind=REMINDER) == []
    assert app.failures() == []


# Reminders -----------------------------------------------------------------------------


def reminder_dates(app, clock, first: date, last: date) -> list[tuple[str, str, str, str]]:
    """Run the daily timer from `first` to `last`: (day, item, unit, stage) per notice."""
    fired = []
    day = first
    while day <= last:
        clock.set_day(day.isoformat())
        before = set(app.notices)
        app.issue_reminders()
        app.issue_reminders()  # the timer fires hourly: twice a day changes nothing
        fired += [
            (day.isoformat(), n.about, n.unit, n.stage)
            for i, n in app.notices.items()
            if i not in before
        ]
        day += timedelta(days=1)
    return fired


def test_reminders_fire_on_their_dates_once_each(tmp_path):
    clock = FakeClock()
    app = make_app(
        tmp_path, recipients=Recipients({WUHAN: contacts(WUHAN, "z@w.example")}), clock=clock
    )

    fired = reminder_dates(app, clock, date(2020, 6, 20), date(2020, 7, 10))

    june = [f for f in fired if f[1] in ("task:set_up_leading_group", "task:draft_action_plan")]
    assert june == [
        (day, task, WUHAN, stage)
        for day, stage in [
            ("2020-06-23", "before-7d"),
            ("2020-06-29", "before-1d"),
            ("2020-07-01", "overdue-1d"),
        ]
        for task in ("task:set_up_leading_group", "task:draft_action_plan")
    ]
    assert len(fired) == len(june)  # July's tasks are not due yet, 附件4's not until December


def test_a_task_reported_done_gets_no_more_reminders(tmp_path):
    clock = FakeClock()
    app = make_app(
        tmp_path, recipients=Recipients({WUHAN: contacts(WUHAN, "z@w.example")}), clock=clock
    )
    app.follower.receive(
        tracking_message(1, [task_done("set_up_leading_group", WUHAN, "2020-06-25")]), no_gap
    )

    fired = reminder_dates(app, clock, date(2020, 6, 23), date(2020, 7, 2))

    assert {f[1] for f in fired if f[1].startswith("task:set_up")} == set()
    assert ("2020-07-01", "task:draft_action_plan", WUHAN, "overdue-1d") in fired


def test_a_matter_reported_done_gets_no_overdue_notice_but_one_in_progress_does(tmp_path):
    clock = FakeClock()
    recipients = Recipients(
        {
            "dept:tongxin": contacts("dept:tongxin", "t@tx.example"),
            "dept:jinrong": contacts("dept:jinrong", "j@jr.example"),
        }
    )
    app = make_app(tmp_path, recipients=recipients, clock=clock)
    done = (
        "matter.progress_reported",
        {
            "matter_id": "guangdong-04",
            "unit": "dept:tongxin",
            "progress": "已完成",
            "status": "done",
        },
        "2020-12-20",
    )
    ongoing = (
        "matter.progress_reported",
        {
            "matter_id": "guangdong-05",
            "unit": "dept:jinrong",
            "progress": "推进中",
            "status": "in_progress",
        },
        "2020-12-20",
    )
    app.follower.receive(tracking_message(1, [done, ongoing]), no_gap)

    fired = reminder_dates(app, clock, date(2021, 1, 1), date(2021, 1, 1))

    matters = {(f[1], f[2], f[3]) for f in fired if f[1].startswith("matter:")}
    assert matters == {
        ("matter:guangdong-05", "dept:jinrong", "overdue-1d"),
        ("matter:advisory-06", "dept:jinrong", "overdue-1d"),
    }  # and none for dept:tongxin, whose only matter is done
    notice = next(n for n in app.notices.values() if n.about == "matter:guangdong-05")
    assert notice.subject.startswith("【逾期通知】附件4招商引资重点事项已逾期：华为公司")
    assert "已逾期 1 天" in notice.text


def test_a_county_is_told_to_report_to_its_prefectures_office(tmp_path):
    clock = FakeClock()
    county = "420102"  # 江岸区, 武汉市
    app = make_app(
        tmp_path, recipients=Recipients({county: contacts(county, "c@ja.example")}), clock=clock
    )

    reminder_dates(app, clock, date(2020, 6, 29), date(2020, 6, 29))

    texts = {n.about: n.text for n in app.notices.values()}
    assert "报武汉市招商引资工作领导小组办公室" in texts["task:set_up_leading_group"]
    assert "距完成时限还有 1 天" in texts["task:set_up_leading_group"]


def test_a_circular_written_before_docx_existed_still_loads(tmp_path):
    app = make_app(tmp_path)
    circular_id = ids.circular_id("v1hash")
    state = {
        "ranking_hash": "v1hash",
        "quarter": "2020Q3",
        "policy_version": "v",
        "files": ["a.md"],
    }
    state |= {"originator_topic": "services.notify.domain:Circular", "timestamp": FakeClock().now()}
    app.recorder.insert_events(
        [
            StoredEvent(
                originator_id=circular_id,
                originator_version=1,
                topic="services.notify.domain:Circular.Written",
                state=app.mapper.transcoder.encode(state),
            )
        ]
    )

    written = app.repository.get(circular_id)

    assert isinstance(written, Circular)
    assert (written.files, written.ranking, written.digests) == (["a.md"], {}, {})
    assert app.has_circular("v1hash")


def test_a_replica_without_the_circulars_files_writes_them_again_byte_for_byte(tmp_path):
    app = make_app(tmp_path)
    ranking = make_ranking()
    app.follower.receive(published(ranking), no_gap)
    stored = app.repository.get(ids.circular_id(ranking_hash(ranking))).digests
    for written in (tmp_path / "circulars").iterdir():
        written.unlink()

    files = app.circular_files(ranking_hash(ranking))

    assert {Path(f).name: hashlib.sha256(Path(f).read_bytes()).hexdigest() for f in files} == stored


def test_a_circular_made_again_with_other_bytes_is_refused(tmp_path):
    app = make_app(tmp_path)
    ranking = {**make_ranking(), "hash": "a" * 64}
    stem = f"{ranking['quarter']}-{'a' * 12}"
    app.save(
        Circular(
            ranking_hash=ranking["hash"],
            quarter=ranking["quarter"],
            policy_version=ranking["policy_version"],
            files=[],
            ranking={k: v for k, v in ranking.items() if k != "hash"},
            published_on=date(2020, 10, 12),
            digests={f"{stem}.docx": "0" * 64},  # not what the renderer makes
        )
    )

    with pytest.raises(RuntimeError, match="differ from the files written at publication"):
        app.circular_files(ranking["hash"])
    assert not (tmp_path / "circulars" / f"{stem}.docx").exists()
