"""PostgreSQL over verified TLS for real: the machine's PostgreSQL (no TLS, never reconfigured)
reached through a TLS-terminating proxy on loopback that shows a certificate of the development
CA; the store's TLS settings (services/kernel/store/pgtls.py) reach the schema's creation, the
event store's pool and the lease, and a server the CA did not certify is refused."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from services.kernel.store.environment import ServiceApplication, store_env
from services.kernel.store.lease import Lease
from tests.tls_proxy import TlsProxy
from tools.devca import ensure_ca, ensure_dev_tls

pytestmark = pytest.mark.postgres


@pytest.fixture
def tls_store(postgres_env, tmp_path) -> Iterator[tuple[TlsProxy, dict[str, str]]]:
    """The test's database behind the proxy, verified against the development CA: (proxy,
    environment)."""
    ca, server = ensure_dev_tls(tmp_path / "tls")
    target = (postgres_env["POSTGRES_HOST"], int(postgres_env["POSTGRES_PORT"]))
    with TlsProxy(target, server, alpn=("postgresql",)).running() as proxy:
        yield (
            proxy,
            {
                **postgres_env,
                "POSTGRES_HOST": "localhost",
                "POSTGRES_PORT": str(proxy.port),
                "POSTGRES_SSLMODE": "verify-full",
                "POSTGRES_SSLROOTCERT": str(ca.cert),
                "POSTGRES_SSLNEGOTIATION": "direct",
                "ZHAOSHANG_VAR": str(tmp_path / "var"),
            },
        )


def test_every_connection_of_a_store_is_verified_tls(tls_store):
    proxy, env = tls_store
    app = ServiceApplication(store_env("registry", env))
    lease = Lease(app, "outbox")
    try:
        assert app.process_recorder.max_notification_id() is None  # the pool's connection
        datastore = app.process_recorder.datastore  # type: ignore[attr-defined]
        with datastore.get_connection() as connection:
            assert connection.pgconn.ssl_in_use
        assert lease.held()
        assert lease._connection.pgconn.ssl_in_use
    finally:
        lease.release()
        app.close()
    assert proxy.forwarded >= 3  # the schema's creation, the pool, the lease


def test_a_server_the_ca_did_not_certify_is_refused_before_anything_is_sent(tls_store, tmp_path):
    proxy, env = tls_store
    other = ensure_ca(tmp_path, "other-ca")

    with pytest.raises(psycopg.OperationalError, match="certificate verify failed"):
        store_env("registry", {**env, "POSTGRES_SSLROOTCERT": str(other.cert)})
    assert proxy.forwarded == 0
