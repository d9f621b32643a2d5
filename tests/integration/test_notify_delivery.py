"""Notify delivering for real: an SMTP server (aiosmtpd) and a webhook receiver (http.server) on
loopback, the NotifyApplication on SQLite; a clock the test moves stands in for the timers."""

from __future__ import annotations

import io
import json
from collections import Counter
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import docx
import pytest

from services.notify.config import NO_TLS, Recipients, SmtpSettings
from services.notify.domain import INTERRUPTED
from services.notify.retry import RetryPolicy
from services.notify.transports import Outgoing, SmtpTransport, WebhookTransport
from tests.notify_servers import LOOPBACK, SmtpServer, WebhookReceiver, standard_signature
from tests.notify_support import (
    SHENNONGJIA,
    WEBHOOK_KEY,
    WUHAN,
    FakeClock,
    contacts,
    make_app,
    make_ranking,
    no_gap,
    published,
    ranking_hash,
    sqlite_env,
)

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
RETRY = RetryPolicy(max_attempts=5, first_delay=timedelta(minutes=1))


@pytest.fixture
def webhook() -> Iterator[WebhookReceiver]:
    with WebhookReceiver(WEBHOOK_KEY).running() as receiver:
        yield receiver


class Service:
    """Starts and restarts a NotifyApplication on one SQLite file, as the process would."""

    def __init__(self, tmp_path: Path, smtp: SmtpServer, recipients: Recipients, webhook=None):
        self.tmp_path, self.clock = tmp_path, FakeClock()
        self.transports = {"email": SmtpTransport(smtp_settings(smtp))}
        if webhook is not None:
            self.transports["webhook"] = WebhookTransport(recipients.webhooks(), timeout=5)
        self.recipients = recipients
        self.app = self.start()

    def start(self, transports: dict | None = None):
        return make_app(
            self.tmp_path,
            env=sqlite_env(self.tmp_path / "notify.sqlite"),
            recipients=self.recipients,
            transports=transports or self.transports,
            clock=self.clock,
            retry=RETRY,
        )

    def restart(self, transports: dict | None = None) -> None:
        self.app.close()
        self.app = self.start(transports)


def smtp_settings(smtp: SmtpServer) -> SmtpSettings:
    return SmtpSettings(
        host=LOOPBACK,
        port=smtp.port,
        tls=NO_TLS,  # the plain server on loopback (TLS: test_notify_tls.py)
        timeout=5,
        sender="zsyz@hubei.example",
        message_id_domain="hubei.example",
    )


def one_unit(**extra) -> Recipients:
    return Recipients({WUHAN: contacts(WUHAN, "zsj@wuhan.example", **extra)})


def test_the_circular_arrives_as_a_docx_attachment_that_holds_the_ranking_table(tmp_path, smtp):
    service = Service(tmp_path, smtp, one_unit())
    ranking = make_ranking()

    service.app.follower.receive(published(ranking), no_gap)
    service.app.deliver_due()

    (message,) = smtp.messages
    assert message["Subject"] == "关于2020年第三季度全省招商引资工作评分排名情况的通报"
    assert message["To"] == "zsj@wuhan.example"
    assert smtp.raw_header(0, "From") == "湖北省招商引资工作领导小组办公室 <zsyz@hubei.example>"
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_content_type() == DOCX
    assert attachment.get_filename() == "关于2020年第三季度全省招商引资工作评分排名情况的通报.docx"
    document = docx.Document(io.BytesIO(attachment.get_content()))
    table = [[cell.text for cell in row.cells] for row in document.tables[0].rows]
    assert table[0][:2] == ["名次", "市州"] and table[0][-1] == "总分"
    assert [(r[0], r[1], r[-1]) for r in table[1:]] == [
        (str(row["rank"]), row["name"], row["total"]) for row in ranking["rows"]
    ]
    assert "武汉市人民政府：" in message.get_body(("plain",)).get_content()


def test_a_webhook_gets_the_notice_signed_with_the_units_key(tmp_path, smtp, webhook):
    service = Service(tmp_path, smtp, one_unit(webhook=webhook.url), webhook=webhook)

    service.app.follower.receive(published(make_ranking()), no_gap)
    service.app.deliver_due()

    ((headers, body),) = webhook.requests
    expected = standard_signature(
        WEBHOOK_KEY, headers["webhook-id"], headers["webhook-timestamp"], body
    )
    assert headers["webhook-signature"] == expected
    notice = json.loads(body)
    assert notice["kind"] == "circular" and notice["unit"] == WUHAN
    assert headers["webhook-id"] == notice["delivery_id"]
    (attachment,) = notice["attachments"]
    assert attachment["filename"].endswith(".docx")
    assert len(smtp.messages) == 1  # and the e-mail went too


def test_a_webhook_answering_503_is_retried_and_the_retry_is_the_same_body_signed_anew(
    tmp_path, smtp, webhook
):
    webhook.statuses = [503]
    service = Service(tmp_path, smtp, one_unit(webhook=webhook.url), webhook=webhook)
    service.app.follower.receive(published(make_ranking()), no_gap)

    service.app.deliver_due()
    service.clock.advance(minutes=1)
    service.app.deliver_due()

    (first, second) = webhook.requests  # both genuine: each signed for its own timestamp
    assert first[1] == second[1]
    assert first[0]["webhook-id"] == second[0]["webhook-id"]
    (row,) = [r for r in service.app.deliveries(status="sent") if r["channel"] == "webhook"]
    assert row["attempts"] == 2
    assert row["failures"][0]["reason"] == "webhook HTTP 503 Service Unavailable"


def test_a_stopped_smtp_server_means_retries_then_one_mail_once_it_is_back(tmp_path, smtp):
    service = Service(tmp_path, smtp, one_unit())
    smtp.stop()
    service.app.follower.receive(published(make_ranking()), no_gap)

    service.app.deliver_due()
    service.clock.advance(minutes=1)
    service.app.deliver_due()
    (row,) = service.app.failures()
    assert (row["status"], row["attempts"]) == ("failed", 2)
    assert "ConnectionRefusedError" in row["failures"][0]["reason"]
    assert row["retry_at"] == (service.clock.now() + timedelta(minutes=2)).isoformat()

    smtp.start()
    service.app.deliver_due()  # the retry is not due yet
    assert smtp.messages == []
    service.clock.advance(minutes=2)
    service.app.deliver_due()
    for _ in range(3):
        service.clock.advance(hours=1)
        service.app.deliver_due()

    assert len(smtp.messages) == 1
    (row,) = service.app.deliveries()
    assert (row["status"], row["attempts"], len(row["failures"])) == ("sent", 3, 2)


def test_after_a_restart_a_redelivered_publication_sends_nothing_again(tmp_path, smtp):
    service = Service(tmp_path, smtp, one_unit())
    ranking = make_ranking()
    service.app.follower.receive(published(ranking), no_gap)
    service.app.deliver_due()

    service.restart()
    service.app.follower.receive(published(ranking), no_gap)
    service.app.follower.receive(published(ranking, notification_id=2), no_gap)
    service.clock.advance(days=1)
    service.app.deliver_due()

    assert len(smtp.messages) == 1
    assert [r["status"] for r in service.app.deliveries()] == ["sent"]


def test_a_restart_before_sending_sends_the_circular_made_again_byte_for_byte(tmp_path, smtp):
    service = Service(tmp_path, smtp, one_unit())
    ranking = make_ranking()
    service.app.follower.receive(published(ranking), no_gap)

    service.restart()  # nothing sent yet; the new process renders the attachment again
    service.app.deliver_due()

    (message,) = smtp.messages
    (attachment,) = list(message.iter_attachments())
    written = next(
        f for f in service.app.circular_files(ranking_hash(ranking)) if f.endswith("docx")
    )
    assert attachment.get_content() == Path(written).read_bytes()


class Crash(BaseException):
    """The process dies: nothing after this point runs (only BaseException gets past the
    application, as a killed worker's GreenletExit would)."""


class CrashingTransport:
    """Lets the real transport send, or not, and then the process dies."""

    def __init__(self, transport, send_first: bool) -> None:
        self.transport, self.send_first = transport, send_first

    def send(self, outgoing: Outgoing) -> str:
        if self.send_first:
            self.transport.send(outgoing)
        raise Crash


def test_a_crash_after_recording_the_intent_and_before_sending_sends_once_after_restart(
    tmp_path, smtp
):
    service = Service(tmp_path, smtp, one_unit())
    service.restart({"email": CrashingTransport(service.transports["email"], send_first=False)})
    service.app.follower.receive(published(make_ranking()), no_gap)
    with pytest.raises(Crash):
        service.app.deliver_due()
    assert [r["status"] for r in service.app.deliveries()] == ["sending"]

    service.restart()
    service.clock.advance(minutes=1)
    service.app.deliver_due()
    service.clock.advance(hours=1)
    service.app.deliver_due()

    assert len(smtp.messages) == 1
    (row,) = service.app.deliveries()
    assert (row["status"], row["attempts"]) == ("sent", 2)
    assert row["failures"][0]["reason"] == INTERRUPTED


def test_a_crash_after_the_server_took_the_mail_resends_it_once_recognisably(tmp_path, smtp):
    """The one window left: the server accepted the mail, the process died before recording
    it. The resend is the same message, with the same Message-ID; never a third copy."""
    service = Service(tmp_path, smtp, one_unit())
    service.restart({"email": CrashingTransport(service.transports["email"], send_first=True)})
    service.app.follower.receive(published(make_ranking()), no_gap)
    with pytest.raises(Crash):
        service.app.deliver_due()

    service.restart()
    for _ in range(3):
        service.clock.advance(minutes=5)
        service.app.deliver_due()

    first, resend = smtp.messages
    assert first["Message-ID"] == resend["Message-ID"]
    assert first["Message-ID"] == f"<{service.app.deliveries()[0]['delivery_id']}@hubei.example>"
    assert smtp.mailbox.raw[0] == smtp.mailbox.raw[1]


def test_summons_and_reminders_reach_the_right_people_on_the_right_days_once(tmp_path, smtp):
    recipients = Recipients(
        {
            SHENNONGJIA: contacts(
                SHENNONGJIA,
                "zsj@snj.example",
                leaders=[("张三", "分管招商的政府负责人", "zhangsan@snj.example")],
                circulars=False,
            )
        }
    )
    service = Service(tmp_path, smtp, recipients)
    service.app.follower.receive(published(make_ranking()), no_gap)
    days = [date(2020, 6, 22) + timedelta(days=n) for n in range(12)]
    received_on = {}
    for day in days:
        service.clock.set_day(day.isoformat())
        service.app.issue_reminders()
        service.app.deliver_due()
        received_on[day.isoformat()] = len(smtp.messages)

    subjects = Counter(str(m["Subject"]).split("：")[0] for m in smtp.messages)
    assert subjects == {
        "关于对神农架林区招商引资工作进行约谈的通知": 1,
        "【到期提醒】附件3重点任务将于2020年6月30日到期": 2 * 2,  # two June tasks, 7 and 1 day
        "【逾期通知】附件3重点任务已逾期": 2,
    }
    summons = next(m for m in smtp.messages if "约谈" in str(m["Subject"]))
    assert summons["To"] == "zhangsan@snj.example"
    reminders = [m for m in smtp.messages if "附件3" in str(m["Subject"])]
    assert {m["To"] for m in reminders} == {"zsj@snj.example"}
    assert [received_on[d] for d in ("2020-06-22", "2020-06-23", "2020-06-29", "2020-07-01")] == [
        1,
        3,
        5,
        7,
    ]
