"""The TLS settings of the broker and database connections reach them, and settings that cannot
work stop the start naming the variable (the wires themselves: tests/integration/test_amqp_tls.py,
test_postgres_tls.py)."""

from __future__ import annotations

import ssl

import pytest

from services.kernel.bus.broker import connection, nameko_config, tls_options
from services.kernel.contract.errors import SettingInvalid
from services.kernel.process.nameko_support import Container
from services.kernel.store.pgtls import PostgresFactory, tls_parameters

AMQPS = "amqps://zs:secret@rabbit.example.org:5671/zhaoshang"


@pytest.fixture
def pem(tmp_path):
    path = tmp_path / "ca.pem"
    path.write_text("-----BEGIN CERTIFICATE-----\n")
    return str(path)


def test_amqps_requires_a_verified_certificate_checked_against_the_host(pem):
    options = tls_options(AMQPS, {"AMQP_SSL_CA": pem})

    assert options is not None
    assert options["cert_reqs"] == ssl.CERT_REQUIRED
    assert options["ca_certs"] == pem
    assert options["server_hostname"] is None  # kombu fills in the URI's host, then checks it
    assert tls_options(AMQPS, {})["cert_reqs"] == ssl.CERT_REQUIRED  # the system's CAs


def test_plain_amqp_stays_plain_and_a_ca_set_for_it_is_an_error(pem):
    assert tls_options("amqp://guest:guest@localhost:5672/", {}) is None
    assert connection("amqp://guest:guest@localhost:5672/").ssl is False

    with pytest.raises(SettingInvalid, match=r"AMQP_SSL_CA.*not amqps") as error:
        tls_options("amqp://guest:guest@rabbit.example.org/", {"AMQP_SSL_CA": pem})
    assert error.value.field == "AMQP_SSL_CA"


@pytest.mark.parametrize(
    ("settings", "variable", "rule"),
    [
        ({"AMQP_SSL_CA": "/nonexistent/ca.pem"}, "AMQP_SSL_CA", "no such file"),
        ({"AMQP_SSL_KEY": "{pem}"}, "AMQP_SSL_KEY", "needs AMQP_SSL_CERT"),
    ],
)
def test_a_tls_file_that_cannot_work_is_named(pem, settings, variable, rule):
    environ = {name: value.format(pem=pem) for name, value in settings.items()}

    with pytest.raises(SettingInvalid, match=rule) as error:
        tls_options(AMQPS, environ)
    assert error.value.field == variable


class Nothing:
    name = "nothing"


def test_nameko_services_and_rpc_clients_get_the_same_options(pem, monkeypatch):
    monkeypatch.setenv("AMQP_SSL_CA", pem)
    monkeypatch.setenv("AMQP_SSL_CERT", pem)

    container = Container(Nothing, {"AMQP_URI": AMQPS})

    assert container.config["AMQP_SSL"] == tls_options(AMQPS)
    assert container.config["AMQP_SSL"]["certfile"] == pem
    monkeypatch.delenv("AMQP_SSL_CA")
    monkeypatch.delenv("AMQP_SSL_CERT")
    assert "AMQP_SSL" not in nameko_config({"AMQP_URI": "amqp://localhost/"})


POSTGRES = {
    "POSTGRES_DBNAME": "zhaoshang",
    "POSTGRES_HOST": "db.example.org",
    "POSTGRES_PORT": "5432",
    "POSTGRES_USER": "registry",
    "POSTGRES_PASSWORD": "",
}


def test_the_postgres_tls_settings_reach_the_event_stores_connections(pem):
    factory = PostgresFactory(
        {**POSTGRES, "POSTGRES_SSLMODE": "verify-full", "POSTGRES_SSLROOTCERT": pem}
    )

    parameters = factory.datastore.pool.kwargs
    assert isinstance(parameters, dict)
    assert (parameters["sslmode"], parameters["sslrootcert"]) == ("verify-full", pem)
    assert "sslmode" not in PostgresFactory(POSTGRES).datastore.pool.kwargs  # libpq's default


def test_an_unknown_sslmode_is_refused_naming_the_variable_and_the_choices():
    with pytest.raises(SettingInvalid, match=r"POSTGRES_SSLMODE='verify'.*verify-full") as error:
        tls_parameters({"POSTGRES_SSLMODE": "verify"})
    assert error.value.rule == "one_of"
