"""Every broker connection the code opens is made here, so `amqps://` means the same everywhere:
TLS with the broker's certificate verified and its hostname checked (README "Credentials and
access"). nameko's own connections get the same options through its `AMQP_SSL` setting
(`nameko_config`).

- `AMQP_SSL_CA`: the CA certificates (PEM) the broker's certificate must chain to; unset, the
  system's CAs.
- `AMQP_SSL_CERT`, `AMQP_SSL_KEY`: a client certificate and its key, for a broker that asks
  for one (the key may be in the certificate's file).

They apply to an `amqps://` AMQP_URI only; set with an `amqp://` one they are an error, not a
silently unencrypted connection.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kombu import Connection

from services.kernel.contract.errors import SettingInvalid

TLS_SCHEME = "amqps://"
FILES = {"ca_certs": "AMQP_SSL_CA", "certfile": "AMQP_SSL_CERT", "keyfile": "AMQP_SSL_KEY"}


def tls_options(amqp_uri: str, environ: Mapping[str, str] = os.environ) -> dict[str, Any] | None:
    """kombu's (py-amqp's) `ssl` options for `amqp_uri`: None for `amqp://`; for `amqps://`
    the certificate required and checked against the host (kombu fills `server_hostname` in
    with the URI's host), TLS 1.2 at least."""
    given = {option: environ[name] for option, name in FILES.items() if environ.get(name)}
    if not amqp_uri.lower().startswith(TLS_SCHEME):
        if given:
            option, value = next(iter(given.items()))
            raise SettingInvalid(
                FILES[option],
                value,
                "amqps_only",
                "已设置，但 AMQP_URI 不是 amqps://，连接不会加密",
                "is set but AMQP_URI is not amqps://: the connection would not be encrypted",
            )
        return None
    for option, path in given.items():
        if not Path(path).is_file():
            raise SettingInvalid(FILES[option], path, "file_exists", "文件不存在", "no such file")
    if "keyfile" in given and "certfile" not in given:
        raise SettingInvalid(
            "AMQP_SSL_KEY",
            given["keyfile"],
            "key_with_cert",
            "需同时设置 AMQP_SSL_CERT",
            "needs AMQP_SSL_CERT",
        )
    return {
        "cert_reqs": ssl.CERT_REQUIRED,
        "server_hostname": None,  # None: kombu puts the URI's host here, which is then checked
        "tls_minimum_version": ssl.TLSVersion.TLSv1_2,
        **given,
    }


def connection(amqp_uri: str, **options: Any) -> Connection:
    """A kombu `Connection` to `amqp_uri` (not connected yet), verified when it is amqps."""
    return Connection(amqp_uri, ssl=tls_options(amqp_uri) or False, **options)


def nameko_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """nameko's configuration with `AMQP_SSL` set as `connection` would for its AMQP_URI."""
    options = tls_options(config["AMQP_URI"])
    return {**config, "AMQP_SSL": options} if options else dict(config)
