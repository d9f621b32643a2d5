"""The development CA (tools/devca.py): a client trusting dev-ca.pem reaches the loopback
server by name and by address, a client certificate names its source, keys are private."""

from __future__ import annotations

import socket
import ssl
import stat
import threading

import pytest

from tools.devca import ensure_dev_tls, issue


def handshake(server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext, name: str) -> dict:
    """One TLS handshake over loopback; the peer certificate the server saw."""
    seen: dict = {}
    with socket.create_server(("127.0.0.1", 0)) as listener:

        def serve() -> None:
            conn, _ = listener.accept()
            try:
                with server_ctx.wrap_socket(conn, server_side=True) as tls:
                    seen.update(tls.getpeercert() or {})
            except ssl.SSLError:
                pass

        thread = threading.Thread(target=serve)
        thread.start()
        try:
            with (
                socket.create_connection(listener.getsockname()) as raw,
                client_ctx.wrap_socket(raw, server_hostname=name),
            ):
                pass
        finally:
            thread.join(5)
    return seen


@pytest.fixture
def dev(tmp_path):
    ca, server = ensure_dev_tls(tmp_path)
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(server.cert, server.key)
    server_ctx.load_verify_locations(ca.cert)
    server_ctx.verify_mode = ssl.CERT_OPTIONAL
    return tmp_path, ca, server_ctx


@pytest.mark.parametrize("name", ["localhost", "127.0.0.1", "::1"])
def test_a_client_trusting_the_dev_ca_reaches_the_server_by_each_local_name(dev, name):
    _, ca, server_ctx = dev
    handshake(server_ctx, ssl.create_default_context(cafile=str(ca.cert)), name)


def test_a_client_trusting_another_ca_is_refused(dev, tmp_path_factory):
    _, _, server_ctx = dev
    other_ca, _ = ensure_dev_tls(tmp_path_factory.mktemp("other"))
    with pytest.raises(ssl.SSLCertVerificationError):
        handshake(server_ctx, ssl.create_default_context(cafile=str(other_ca.cert)), "localhost")


def test_a_client_certificate_names_its_source(dev):
    directory, ca, server_ctx = dev
    client = issue(ca, directory, "wuhan", client_source="pref:420100")
    client_ctx = ssl.create_default_context(cafile=str(ca.cert))
    client_ctx.load_cert_chain(client.cert, client.key)
    seen = handshake(server_ctx, client_ctx, "localhost")
    assert seen["subject"] == ((("commonName", "pref:420100"),),)


def test_the_ca_is_made_once_and_keys_are_readable_by_their_owner_only(dev):
    directory, ca, _ = dev
    again, _ = ensure_dev_tls(directory)
    assert again.cert.read_bytes() == ca.cert.read_bytes()
    for key in directory.glob("*-key.pem"):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
