"""`python -m services.console.server`: the console under uvicorn, configured from its
environment (services/console/config.py)."""

from __future__ import annotations

import os

import uvicorn

from services.console.accounts import Accounts
from services.console.app import create_app
from services.console.config import config_from
from services.console.gateway import Gateway


def main() -> None:
    config = config_from(os.environ)
    accounts = Accounts.from_environment(os.environ, config.policy)
    gateway = Gateway(config.gateway, config.api_key, config.ca_file, config.plaintext)
    app = create_app(config, accounts, gateway)
    uvicorn.run(
        app,
        host=config.host,
        port=config.port,
        ssl_certfile=config.tls_cert,
        ssl_keyfile=config.tls_key,
        log_level="warning",
        access_log=False,
        server_header=False,
        proxy_headers=False,
    )


if __name__ == "__main__":
    main()
