"""Whether a host is this machine's loopback: plaintext (a gRPC port, SMTP without TLS, an
http webhook) is allowed only there, and `make run` starts a broker only there."""

from __future__ import annotations

import ipaddress


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 (bracketed or not) or the name localhost."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
