"""Notify's configuration: the recipients file and the environment."""

from __future__ import annotations

import base64
import hashlib
from datetime import timedelta
from pathlib import Path

import pytest

from services.kernel.contract.errors import SettingInvalid
from services.kernel.reference import reference
from services.notify.bootstrap import build
from services.notify.config import NotifySettings, RecipientsError, load_recipients

EXAMPLE = Path(__file__).parents[2] / "services" / "notify" / "recipients.example.yaml"


def key(name: str, size: int = 32) -> bytes:
    return hashlib.sha512(name.encode()).digest()[:size]


def secret(raw: bytes) -> str:
    """A Standard Webhooks secret holding `raw`."""
    return "whsec_" + base64.b64encode(raw).decode()


SECRETS = {
    "NOTIFY_WEBHOOK_SECRET_420100": secret(key("wuhan")),
    "NOTIFY_WEBHOOK_SECRET": secret(key("railway")),
}


def load(tmp_path: Path, text: str, environ: dict[str, str] | None = None):
    path = tmp_path / "recipients.yaml"
    path.write_text(text, encoding="utf-8")
    return load_recipients(path, reference(), SECRETS if environ is None else environ)


def test_the_example_file_loads_with_its_secrets_from_the_environment():
    recipients = load_recipients(EXAMPLE, reference(), SECRETS)

    wuhan = recipients.contacts("420100")
    assert wuhan is not None and wuhan.webhook is not None
    assert wuhan.webhook.secret == key("wuhan")
    assert [leader.name for leader in wuhan.leaders] == ["张三", "李四"]
    assert [c["address"] for c in wuhan.summons_channels()] == [
        "zhangsan@wuhan.example.gov.cn",
        "lisi@wuhan.example.gov.cn",
        "https://zs.wuhan.example.gov.cn/hooks/zhaoshang",
    ]
    assert [unit for unit, _ in recipients.circular_contacts()] == [
        "420100",
        "429021",
        "office",
        "org:wuhan_railway",
    ]
    assert recipients.reaches("dept:shangwu") and not recipients.reaches("420600")
    railway = recipients.webhooks()["org:wuhan_railway"]
    assert (railway.url, railway.secret) == (
        "https://oa.wuhan-railway.example.cn/notify",
        key("railway"),
    )


@pytest.mark.parametrize(
    ("text", "unit", "problem"),
    [
        ("units:\n  '999999': {email: a@b.example}\n", "999999", "not a unit"),
        ("units:\n  '420100': {email: not-an-address}\n", "420100", "not an e-mail address"),
        ("units:\n  '420100': {mail: a@b.example}\n", "420100", "unknown field"),
        ("units:\n  '420100': {webhook: ftp://x.example}\n", "420100", "not an http(s) URL"),
        ("units:\n  '420100': {webhook: http://x.example/h}\n", "420100", "plain http"),
        (
            "units:\n  '420100': {leaders: [{name: 张三, email: z@b.example}]}\n",
            "420100",
            "name, role and email",
        ),
    ],
)
def test_a_wrong_entry_stops_the_start_naming_the_unit_and_the_problem(
    tmp_path, text, unit, problem
):
    with pytest.raises(RecipientsError) as error:
        load(tmp_path, text)

    assert error.value.file == "recipients.yaml"
    assert error.value.unit == unit
    assert problem in error.value.problem


def test_a_webhook_without_its_secret_stops_the_start(tmp_path):
    with pytest.raises(RecipientsError) as error:
        load(tmp_path, "units:\n  '420100': {webhook: https://x.example/h}\n", environ={})

    assert "NOTIFY_WEBHOOK_SECRET is not set" in error.value.problem


def test_without_a_recipients_file_nobody_is_sent_anything():
    recipients = load_recipients(None, reference())

    assert recipients.circular_contacts() == []
    assert not recipients.reaches("420100")


def test_settings_come_from_the_environment_with_local_defaults():
    default = NotifySettings.from_env({})
    tuned = NotifySettings.from_env(
        {
            "NOTIFY_SMTP_HOST": "smtp.example.gov.cn",
            "NOTIFY_SMTP_PORT": "587",
            "NOTIFY_SMTP_TLS": "implicit",
            "NOTIFY_MAIL_FROM": "zsyz@example.gov.cn",
            "NOTIFY_MAX_ATTEMPTS": "4",
            "NOTIFY_RETRY_FIRST_SECONDS": "30",
            "NOTIFY_REMIND_BEFORE_DAYS": "14, 3",
            "NOTIFY_OVERDUE_AFTER_DAYS": "1,7",
        }
    )

    assert (default.smtp.host, default.smtp.port, default.smtp.tls) == ("localhost", 25, "starttls")
    assert default.recipients_file is None
    assert default.reminders.before_days == (7, 1)
    assert (tuned.smtp.port, tuned.smtp.tls, tuned.smtp.message_id_domain) == (
        587,
        "implicit",
        "example.gov.cn",
    )
    assert (tuned.retry.max_attempts, tuned.retry.first_delay) == (4, timedelta(seconds=30))
    assert (tuned.reminders.before_days, tuned.reminders.overdue_days) == ((14, 3), (1, 7))


def test_the_service_is_wired_from_its_environment(tmp_path):
    app = build(
        {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "ZHAOSHANG_VAR": str(tmp_path / "var"),
            "NOTIFY_RECIPIENTS": str(EXAMPLE),
            **SECRETS,
        }
    )
    try:
        assert app.recipients.reaches("420100")
        assert set(app.transports) == {"email", "webhook"}
        assert app.circulars == tmp_path / "var" / "circulars"
    finally:
        app.close()


def test_webhooks_to_loopback_may_be_plain_http_for_tests(tmp_path):
    recipients = load(tmp_path, "units:\n  '420100': {webhook: http://127.0.0.1:8080/h}\n")

    assert recipients.reaches("420100")


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (secret(key("short", 31)), "holds 31 bytes: at least 32"),
        ("wuhan-secret-that-is-long-enough-but-no-base64!", "is not whsec_<base64>"),
    ],
)
def test_a_webhook_secret_too_short_or_not_standard_stops_the_start_naming_the_unit(
    tmp_path, value, problem
):
    with pytest.raises(RecipientsError) as error:
        load(
            tmp_path,
            "units:\n  '420100': {webhook: https://x.example/h}\n",
            environ={"NOTIFY_WEBHOOK_SECRET": value},
        )

    assert error.value.unit == "420100"
    assert problem in error.value.problem


def test_two_units_sharing_one_webhook_secret_stop_the_start(tmp_path):
    text = (
        "units:\n"
        "  '420100': {webhook: https://wuhan.example/h}\n"
        "  '420600': {webhook: https://xiangyang.example/h}\n"
    )

    with pytest.raises(RecipientsError) as error:
        load(tmp_path, text)

    assert error.value.unit == "420600"
    assert "420100's too" in error.value.problem


@pytest.mark.parametrize(
    ("environ", "rule"),
    [
        ({"NOTIFY_SMTP_TLS": "ssl"}, "one_of"),
        (
            {"NOTIFY_SMTP_HOST": "smtp.example.gov.cn", "NOTIFY_SMTP_TLS": "none"},
            "tls_off_loopback",
        ),
        ({"NOTIFY_SMTP_TLS": "none", "NOTIFY_SMTP_USER": "zsyz"}, "password_needs_tls"),
        ({"NOTIFY_SMTP_CA": "/nonexistent/ca.pem"}, "file_exists"),
        ({"NOTIFY_WEBHOOK_CA": "/nonexistent/ca.pem"}, "file_exists"),
    ],
)
def test_mail_and_webhook_settings_that_would_be_unsafe_stop_the_start(environ, rule):
    with pytest.raises(SettingInvalid) as error:
        NotifySettings.from_env(environ)

    assert error.value.rule == rule
    assert error.value.field in environ


def test_plaintext_smtp_is_allowed_to_a_loopback_server_without_a_password():
    settings = NotifySettings.from_env({"NOTIFY_SMTP_HOST": "127.0.0.1", "NOTIFY_SMTP_TLS": "none"})

    assert (settings.smtp.tls, settings.smtp.port) == ("none", 25)
