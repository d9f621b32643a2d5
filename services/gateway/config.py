"""The gateway's settings: every environment variable it reads, with defaults that run locally."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from services.gateway.credentials import default_keys_file


@dataclass(frozen=True)
class Config:
    amqp_uri: str = "amqp://guest:guest@localhost:5672/"
    address: str = "127.0.0.1:50051"  # host:port the gRPC server binds
    max_batch: int = 1000  # events per Publish call or AMQP message
    rpc_timeout: float = 30.0  # seconds to wait for a service's answer
    workers: int = 64  # gRPC worker threads: calls waiting to be grouped (grouping.py)
    grace: float = 10.0  # seconds in-flight calls get to finish on shutdown
    # The API keys file (services/gateway/credentials.py). None: no authentication, each report's
    # `source` is taken as stated — only for a gateway built in-process around fakes;
    # `from_env` always names a file (a missing file holds no keys: every call is refused).
    keys_file: str | None = None
    amqp_user_prefix: str = ""  # AMQP user `<prefix><source>` publishes as that source
    # TLS (services/gateway/tls.py): the server's certificate chain and key, PEM files; with
    # `tls_client_ca`, clients must present a certificate it signed. Without a certificate the
    # gateway does not start, unless `plaintext` is asked for on a loopback address.
    tls_cert: str | None = None
    tls_key: str | None = None
    tls_client_ca: str | None = None
    plaintext: bool = False

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Config:
        env = os.environ if env is None else env
        default = cls()
        return cls(
            amqp_uri=env.get("AMQP_URI", default.amqp_uri),
            address=env.get("GATEWAY_ADDRESS", default.address),
            max_batch=int(env.get("GATEWAY_MAX_BATCH", default.max_batch)),
            rpc_timeout=float(env.get("RPC_TIMEOUT", default.rpc_timeout)),
            workers=int(env.get("GATEWAY_WORKERS", default.workers)),
            grace=float(env.get("GATEWAY_GRACE", default.grace)),
            keys_file=str(default_keys_file(env)),
            amqp_user_prefix=env.get("GATEWAY_AMQP_USER_PREFIX", default.amqp_user_prefix),
            tls_cert=env.get("GATEWAY_TLS_CERT") or None,
            tls_key=env.get("GATEWAY_TLS_KEY") or None,
            tls_client_ca=env.get("GATEWAY_TLS_CLIENT_CA") or None,
            plaintext=env.get("GATEWAY_PLAINTEXT", "0") == "1",
        )
