"""PostgreSQL over TLS: libpq's TLS parameters, set by environment variables, reach every
connection a service opens: eventsourcing's pool (`PostgresFactory`, which store_env names as
the persistence module), the schema's creation and the leases (services/kernel/store/lease.py
connects with the pool's parameters). Unset, libpq's defaults apply (sslmode prefer, or PGSSLMODE).

- `POSTGRES_SSLMODE`: disable, allow, prefer, require, verify-ca or verify-full (production:
  verify-full, the server's certificate checked against the CA and the host name);
- `POSTGRES_SSLROOTCERT`: the CA certificates (PEM) verify-ca and verify-full check against;
- `POSTGRES_SSLNEGOTIATION`: `direct` starts TLS at once instead of asking for it first
  (PostgreSQL 17 and later, or a TLS-terminating proxy in front of the server).
"""

from __future__ import annotations

from collections.abc import Mapping

from eventsourcing.postgres import PostgresFactory as LibraryPostgresFactory
from eventsourcing.utils import Environment, EnvType

from services.kernel.contract.errors import SettingInvalid

FACTORY_TOPIC = "services.kernel.store.pgtls:PostgresFactory"
SETTINGS = {
    "POSTGRES_SSLMODE": "sslmode",
    "POSTGRES_SSLROOTCERT": "sslrootcert",
    "POSTGRES_SSLNEGOTIATION": "sslnegotiation",
}
CHOICES = {
    "sslmode": ("disable", "allow", "prefer", "require", "verify-ca", "verify-full"),
    "sslnegotiation": ("postgres", "direct"),
}


def tls_parameters(env: Mapping[str, str]) -> dict[str, str]:
    """libpq's connection parameters for the TLS settings given in `env`."""
    parameters = {}
    for name, parameter in SETTINGS.items():
        value = env.get(name)
        if not value:
            continue
        allowed = CHOICES.get(parameter)
        if allowed is not None and value not in allowed:
            raise SettingInvalid(
                name,
                value,
                "one_of",
                f"须为 {'、'.join(allowed)} 之一",
                f"must be one of {', '.join(allowed)}",
            )
        parameters[parameter] = value
    return parameters


class PostgresFactory(LibraryPostgresFactory):
    """eventsourcing's PostgreSQL infrastructure, its pool connecting with the TLS settings."""

    def __init__(self, env: Environment | EnvType | None) -> None:
        super().__init__(env)
        settings = {name: self.env.get(name) or "" for name in SETTINGS}
        # The library gives its pool a dict of parameters, first used when the pool opens.
        pool_parameters = self.datastore.pool.kwargs
        assert isinstance(pool_parameters, dict)
        pool_parameters.update(tls_parameters(settings))
