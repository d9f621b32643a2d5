"""TLS settings as operators and developers give them: the gateway's variables, which addresses
count as loopback for plaintext, the command line's CA default, and what make run prints."""

from __future__ import annotations

import pytest

from services.gateway.config import Config
from services.gateway.tls import binds_loopback
from tools.run import Supervisor, how_to_connect
from zhaoshang.client import open_channel
from zhaoshang.connection import default_ca_file


def test_the_gateway_reads_its_tls_settings_from_the_environment():
    config = Config.from_env(
        {
            "GATEWAY_TLS_CERT": "/etc/zhaoshang/tls/tls.crt",
            "GATEWAY_TLS_KEY": "/etc/zhaoshang/tls/tls.key",
            "GATEWAY_TLS_CLIENT_CA": "/etc/zhaoshang/clients/ca.crt",
        }
    )
    assert (config.tls_cert, config.tls_key, config.tls_client_ca, config.plaintext) == (
        "/etc/zhaoshang/tls/tls.crt",
        "/etc/zhaoshang/tls/tls.key",
        "/etc/zhaoshang/clients/ca.crt",
        False,
    )


@pytest.mark.parametrize(("value", "plaintext"), [("1", True), ("0", False), ("", False)])
def test_plaintext_is_only_what_gateway_plaintext_1_asks_for(value, plaintext):
    assert Config.from_env({"GATEWAY_PLAINTEXT": value}).plaintext is plaintext
    assert Config.from_env({}).plaintext is False


@pytest.mark.parametrize(
    "address", ["127.0.0.1:50051", "127.8.9.10:1", "[::1]:50051", "localhost:50051"]
)
def test_loopback_addresses_may_serve_plaintext(address):
    assert binds_loopback(address)


@pytest.mark.parametrize(
    "address",
    ["0.0.0.0:50051", "[::]:50051", ":50051", "10.1.2.3:50051", "gateway:50051", "unix:/tmp/s"],
)
def test_every_other_address_may_not(address):
    assert not binds_loopback(address)


def test_the_command_line_trusts_the_named_ca_else_make_runs_when_there(tmp_path):
    assert default_ca_file({"ZHAOSHANG_CA_FILE": "/etc/ca.pem"}) == "/etc/ca.pem"
    assert default_ca_file({"ZHAOSHANG_VAR": str(tmp_path)}) is None  # the system's roots
    (tmp_path / "dev-ca.pem").write_text("")
    assert default_ca_file({"ZHAOSHANG_VAR": str(tmp_path)}) == str(tmp_path / "dev-ca.pem")


def test_a_client_certificate_needs_its_key():
    with pytest.raises(ValueError, match="cert_file"):
        open_channel("127.0.0.1:1", cert_file="client.pem")


def test_make_run_serves_its_dev_ca_and_says_how_to_connect(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    env = {"ZHAOSHANG_VAR": "var", "GATEWAY_ADDRESS": "127.0.0.1:50051"}
    supervisor = Supervisor(env)
    supervisor.serve_tls()
    supervisor.api_keys = {"office": "zsk_not-printed"}
    assert env["GATEWAY_TLS_CERT"] == str(tmp_path / "var" / "dev-server.pem")
    assert supervisor.ca_file == tmp_path / "var" / "dev-ca.pem" and supervisor.ca_file.exists()
    text = how_to_connect(supervisor, "2020Q3")
    assert "grpcurl -cacert var/dev-ca.pem" in text
    assert '"x-api-key: $(jq -r .office var/dev-api-keys.json)"' in text
    assert 'GatewayClient("127.0.0.1:50051", ca_file="var/dev-ca.pem", api_key=' in text
    assert "zsk_not-printed" not in text


def test_make_run_serves_plaintext_only_when_asked(tmp_path):
    env = {"ZHAOSHANG_VAR": str(tmp_path), "GATEWAY_PLAINTEXT": "1"}
    supervisor = Supervisor(env)
    supervisor.serve_tls()
    assert supervisor.plaintext and "GATEWAY_TLS_CERT" not in env
    assert not (tmp_path / "dev-ca.pem").exists()
