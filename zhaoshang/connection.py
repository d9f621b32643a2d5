"""How a command line reaches the gateway: its address, the system's key, and TLS.

TLS by default: the gateway's certificate is checked against `--ca-file` (`ZHAOSHANG_CA_FILE`;
else the development CA `make run` made, `var/dev-ca.pem`, when that file exists; else the
system's trusted roots). `--cert-file` and `--key-file` (`ZHAOSHANG_CERT_FILE`,
`ZHAOSHANG_KEY_FILE`) present a client certificate, for a gateway that asks for one (mutual
TLS). `--plaintext` only for a gateway serving plaintext on loopback.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from pathlib import Path

from zhaoshang.client import GatewayClient

DEV_CA = "dev-ca.pem"  # the development CA's certificate make run writes (tools/devca.py)


def default_ca_file(environ: Mapping[str, str] = os.environ) -> str | None:
    if named := environ.get("ZHAOSHANG_CA_FILE"):
        return named
    dev = Path(environ.get("ZHAOSHANG_VAR", "var")) / DEV_CA
    return str(dev) if dev.exists() else None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    env = os.environ
    parser.add_argument(
        "--gateway",
        default=env.get("GATEWAY_ADDRESS", "127.0.0.1:50051"),
        help="host:port of the gRPC gateway (GATEWAY_ADDRESS)",
    )
    parser.add_argument(
        "--api-key", default=env.get("ZHAOSHANG_API_KEY"), help="(ZHAOSHANG_API_KEY)"
    )
    parser.add_argument(
        "--ca-file",
        default=default_ca_file(),
        help="PEM: the CA the gateway's certificate is checked against (ZHAOSHANG_CA_FILE; "
        f"default var/{DEV_CA} if it exists, else the system's roots)",
    )
    parser.add_argument(
        "--cert-file",
        default=env.get("ZHAOSHANG_CERT_FILE"),
        help="PEM: this system's client certificate, for mutual TLS (ZHAOSHANG_CERT_FILE)",
    )
    parser.add_argument(
        "--key-file",
        default=env.get("ZHAOSHANG_KEY_FILE"),
        help="PEM: the client certificate's private key (ZHAOSHANG_KEY_FILE)",
    )
    parser.add_argument(
        "--plaintext",
        action="store_true",
        help="no TLS: only for a gateway serving plaintext on loopback",
    )


def connect(args: argparse.Namespace, timeout: float | None) -> GatewayClient:
    return GatewayClient(
        args.gateway,
        timeout=timeout,
        api_key=args.api_key,
        ca_file=args.ca_file,
        cert_file=args.cert_file,
        key_file=args.key_file,
        plaintext=args.plaintext,
    )
