"""Notify's domain in memory: a delivery's life, back-off, the reminder calendar."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from services.notify.domain import (
    CIRCULAR,
    EMAIL,
    FAILED,
    GIVEN_UP,
    INTERRUPTED,
    PENDING,
    SENDING,
    SENT,
    WEBHOOK,
    Notice,
    NotifyError,
    Progress,
    notice_id,
    notice_key,
)
from services.notify.reminders import Deadline, ReminderSchedule, due_reminders
from services.notify.retry import RetryPolicy

T0 = datetime(2020, 10, 12, 2, 0, tzinfo=UTC)
MAIL = "email:zsj@wuhan.example"
HOOK = "webhook:https://zs.wuhan.example/hook"
POLICY = RetryPolicy(max_attempts=3, first_delay=timedelta(minutes=1))


def make_notice(**overrides) -> Notice:
    fields = {
        "kind": CIRCULAR,
        "about": "ranking:abc",
        "unit": "420100",
        "subject": "关于2020年第三季度全省招商引资工作评分排名情况的通报",
        "text": "武汉市人民政府：……",
        "attachments": [],
        "channels": [
            {"channel": EMAIL, "address": "zsj@wuhan.example"},
            {"channel": WEBHOOK, "address": "https://zs.wuhan.example/hook"},
        ],
        "issued_at": T0,
    }
    return Notice.issue(**{**fields, **overrides})


def test_a_notice_has_one_pending_delivery_per_address():
    notice = make_notice()

    assert notice.due(T0) == [MAIL, HOOK]
    assert {d.status for d in notice.deliveries.values()} == {PENDING}


def test_a_notices_id_depends_only_on_what_it_is_about_and_for_whom():
    first, again = make_notice(), make_notice(text="other words", issued_at=T0 + timedelta(days=1))

    assert first.id == again.id == notice_id(notice_key(CIRCULAR, "ranking:abc", "420100"))
    assert make_notice(unit="420600").id != first.id
    assert first.delivery_id(MAIL) == again.delivery_id(MAIL) != first.delivery_id(HOOK)


def test_a_sent_delivery_is_never_due_again():
    notice = make_notice()
    notice.start_sending(MAIL, T0)
    notice.record_sent(MAIL, T0, "250 OK")

    assert notice.deliveries[MAIL].status == SENT
    assert MAIL not in notice.due(T0 + timedelta(days=365))
    with pytest.raises(NotifyError) as refused:
        notice.start_sending(MAIL, T0 + timedelta(days=1))
    assert refused.value.rule == "not_due"


def test_an_attempt_under_way_is_not_due_twice():
    notice = make_notice()
    notice.start_sending(MAIL, T0)

    assert notice.deliveries[MAIL].status == SENDING
    assert MAIL not in notice.due(T0)


def test_failures_back_off_doubling_then_give_up_after_the_last_attempt():
    notice = make_notice()
    retries = []
    moment = T0
    for _ in range(3):
        notice.start_sending(MAIL, moment)
        notice.record_failure(MAIL, moment, "connection refused", False, POLICY)
        retries.append(notice.deliveries[MAIL].retry_at)
        moment = retries[-1] or moment

    assert retries == [T0 + timedelta(minutes=1), T0 + timedelta(minutes=3), None]
    delivery = notice.deliveries[MAIL]
    assert delivery.status == GIVEN_UP
    assert [f["attempt"] for f in delivery.failures] == [1, 2, 3]
    assert isinstance(notice.pending_events[-1], Notice.GivenUp)
    assert "已尝试 3 次" in notice.pending_events[-1].reason


def test_a_failed_delivery_is_not_due_before_its_retry_time():
    notice = make_notice()
    notice.start_sending(MAIL, T0)
    notice.record_failure(MAIL, T0, "421 try later", False, POLICY)

    assert notice.deliveries[MAIL].status == FAILED
    assert MAIL not in notice.due(T0 + timedelta(seconds=59))
    assert MAIL in notice.due(T0 + timedelta(minutes=1))


def test_a_permanent_refusal_gives_up_at_once():
    notice = make_notice()
    notice.start_sending(MAIL, T0)
    notice.record_failure(MAIL, T0, "550 no such user", True, POLICY)

    assert notice.deliveries[MAIL].status == GIVEN_UP
    assert notice.deliveries[HOOK].status == PENDING
    assert notice.is_open


def test_an_outcome_needs_an_attempt_under_way():
    notice = make_notice()

    with pytest.raises(NotifyError) as refused:
        notice.record_sent(MAIL, T0, "250 OK")
    assert refused.value.rule == "sending"


def test_an_attempt_interrupted_mid_send_counts_as_failed_and_is_retried():
    notice = make_notice()
    notice.start_sending(MAIL, T0)

    assert notice.record_interrupted(T0 + timedelta(hours=1), POLICY) == [MAIL]
    delivery = notice.deliveries[MAIL]
    assert delivery.status == FAILED
    assert delivery.failures[-1]["reason"] == INTERRUPTED
    assert delivery.retry_at == T0 + timedelta(hours=1, minutes=1)


def test_a_notice_must_go_somewhere_and_to_each_address_once():
    with pytest.raises(NotifyError) as nowhere:
        make_notice(channels=[])
    assert nowhere.value.rule == "at_least_one"
    twice = [{"channel": EMAIL, "address": "a@b.example"}] * 2
    with pytest.raises(NotifyError) as repeated:
        make_notice(channels=twice)
    assert repeated.value.rule == "unique_address"


def test_retry_policy_caps_the_back_off():
    policy = RetryPolicy(
        max_attempts=10, first_delay=timedelta(minutes=1), max_delay=timedelta(minutes=5)
    )

    delays = [policy.retry_at(n, T0) - T0 for n in range(1, 6)]

    assert delays == [timedelta(minutes=m) for m in (1, 2, 4, 5, 5)]
    assert policy.retry_at(10, T0) is None


# The reminder calendar -------------------------------------------------------------------

DUE = date(2020, 6, 30)
SCHEDULE = ReminderSchedule(before_days=(7, 1), overdue_days=(1,), grace_days=3)


@pytest.mark.parametrize(
    ("today", "stage"),
    [
        (date(2020, 6, 22), None),
        (date(2020, 6, 23), "before-7d"),
        (date(2020, 6, 25), "before-7d"),
        (date(2020, 6, 29), "before-1d"),
        (date(2020, 6, 30), "before-1d"),
        (date(2020, 7, 1), "overdue-1d"),
        (date(2020, 7, 4), "overdue-1d"),
        (date(2020, 7, 5), None),  # beyond the grace: no stale notices after a long outage
    ],
)
def test_the_stage_of_a_deadline_on_a_day(today, stage):
    found = SCHEDULE.stage_on(DUE, today)

    assert (found.name if found else None) == stage


def test_units_that_reported_the_item_done_or_cannot_be_reached_get_no_reminder():
    deadline = Deadline("task:set_up_leading_group", DUE, frozenset({"420100", "420600", "429021"}))
    done = {("task:set_up_leading_group", "420600")}

    due = list(
        due_reminders(
            [deadline],
            SCHEDULE,
            date(2020, 6, 23),
            is_done=lambda item, unit: (item, unit) in done,
            reachable=lambda unit: unit != "429021",
        )
    )

    assert [(unit, stage.name) for _, unit, stage in due] == [("420100", "before-7d")]


def test_a_schedule_refuses_days_that_are_not_positive_or_repeat():
    with pytest.raises(NotifyError):
        ReminderSchedule(before_days=(7, 7))
    with pytest.raises(NotifyError):
        ReminderSchedule(overdue_days=(0,))


def test_progress_counts_the_first_report_of_an_item_only():
    progress = Progress()
    progress.record_done("task:draft_action_plan", "420100", date(2020, 6, 1))
    progress.record_done("task:draft_action_plan", "420100", date(2020, 6, 9))

    assert progress.is_done("task:draft_action_plan", "420100")
    assert not progress.is_done("task:draft_action_plan", "420600")
    assert len([e for e in progress.pending_events if isinstance(e, Progress.ItemDone)]) == 1
