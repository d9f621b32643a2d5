"""The gateway's settings: every environment variable it reads, with defaults that run locally."""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from services.gateway.amqp_queues import LANE_WAITING
from services.gateway.credentials import default_keys_file
from services.gateway.fairshare import Limits
from services.gateway.grouping import SHARE
from services.kernel.contract.errors import SettingInvalid
from services.kernel.contract.lookups import is_known_source, known_sources

# What one gRPC message may carry (a batch of reports, any request), checked by grpc before
# the message is read or its credential looked at; the client library sends no more.
MAX_REQUEST_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class Config:
    amqp_uri: str = "amqp://guest:guest@localhost:5672/"
    address: str = "127.0.0.1:50051"  # host:port the gRPC server binds
    max_batch: int = 1000  # events per Publish call or AMQP message
    rpc_timeout: float = 30.0  # seconds to wait for a service's answer
    workers: int = 64  # gRPC worker threads: calls waiting to be grouped (grouping.py)
    grace: float = 10.0  # seconds in-flight calls get to finish on shutdown
    # gRPC calls in progress or waiting for a worker, all callers together; beyond it grpc
    # answers RESOURCE_EXHAUSTED at once.
    max_concurrent_rpcs: int = 256
    # A sender's share of a call to a service while small calls are about (grouping.py).
    group_share: int = SHARE
    # Each credential's fair share (services/gateway/fairshare.py). None (GATEWAY_FAIR_SHARE=0):
    # no limit per credential, only for load generators that speak for a province of systems
    # through a few keys (the ingest benchmark, the fault tests).
    limits: Limits | None = field(default_factory=Limits)
    # The API keys file (services/gateway/credentials.py). None: no authentication, each report's
    # `source` is taken as stated — only for a gateway built in-process around fakes;
    # `from_env` always names a file (a missing file holds no keys: every call is refused).
    keys_file: str | None = None
    amqp_user_prefix: str = ""  # AMQP user `<prefix><source>` publishes as that source
    # The sources with an AMQP lane of their own (amqp_queues.py): those a deployment gave a
    # RabbitMQ user. Others' messages on the lanes' exchange join the shared queue.
    amqp_lanes: tuple[str, ...] = ()
    # Messages waiting in one source's AMQP lane before it refuses more.
    amqp_lane_waiting: int = LANE_WAITING
    # TLS (services/gateway/tls.py): the server's certificate chain and key, PEM files; with
    # `tls_client_ca`, clients must present a certificate it signed. Without a certificate the
    # gateway does not start, unless `plaintext` is asked for on a loopback address.
    tls_cert: str | None = None
    tls_key: str | None = None
    tls_client_ca: str | None = None
    plaintext: bool = False

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Config:
        """Raises SettingInvalid naming a limit that is not a positive number."""
        env = os.environ if env is None else env
        default = cls()
        max_batch = int(env.get("GATEWAY_MAX_BATCH", default.max_batch))
        return cls(
            amqp_uri=env.get("AMQP_URI", default.amqp_uri),
            address=env.get("GATEWAY_ADDRESS", default.address),
            max_batch=max_batch,
            rpc_timeout=float(env.get("RPC_TIMEOUT", default.rpc_timeout)),
            workers=int(env.get("GATEWAY_WORKERS", default.workers)),
            grace=float(env.get("GATEWAY_GRACE", default.grace)),
            max_concurrent_rpcs=positive(
                env, "GATEWAY_MAX_CONCURRENT_RPCS", default.max_concurrent_rpcs, int
            ),
            group_share=positive(env, "GATEWAY_GROUP_SHARE", default.group_share, int),
            limits=(
                limits_from_env(env, max_batch)
                if env.get("GATEWAY_FAIR_SHARE", "1") != "0"
                else None
            ),
            keys_file=str(default_keys_file(env)),
            amqp_user_prefix=env.get("GATEWAY_AMQP_USER_PREFIX", default.amqp_user_prefix),
            amqp_lanes=lanes_from_env(env),
            amqp_lane_waiting=positive(
                env, "GATEWAY_AMQP_LANE_WAITING", default.amqp_lane_waiting, int
            ),
            tls_cert=env.get("GATEWAY_TLS_CERT") or None,
            tls_key=env.get("GATEWAY_TLS_KEY") or None,
            tls_client_ca=env.get("GATEWAY_TLS_CLIENT_CA") or None,
            plaintext=env.get("GATEWAY_PLAINTEXT", "0") == "1",
        )


def lanes_from_env(env: Mapping[str, str]) -> tuple[str, ...]:
    """GATEWAY_AMQP_LANES: sources separated by commas, or `all`; each must be a source."""
    text = env.get("GATEWAY_AMQP_LANES", "").strip()
    if text == "all":
        return known_sources()
    lanes = tuple(dict.fromkeys(s.strip() for s in text.split(",") if s.strip()))
    for source in lanes:
        if not is_known_source(source):
            raise SettingInvalid(
                "GATEWAY_AMQP_LANES",
                source,
                "known_source",
                f"{source} 不是报送系统（应为 office、pref:<市州代码>、county:<县级代码>、"
                "dept:<部门> 或 org:<单位>，以逗号分隔，或 all）",
                f"{source} is no source (expected office, pref:<code>, county:<code>, "
                "dept:<key> or org:<key>, separated by commas, or all)",
            )
    return lanes


def limits_from_env(env: Mapping[str, str], max_batch: int) -> Limits:
    default = Limits()
    limits = Limits(
        calls_per_s=positive(env, "GATEWAY_CALLS_PER_S", default.calls_per_s, float),
        calls_burst=positive(env, "GATEWAY_CALLS_BURST", default.calls_burst, int),
        reports_per_s=positive(env, "GATEWAY_REPORTS_PER_S", default.reports_per_s, float),
        reports_burst=positive(env, "GATEWAY_REPORTS_BURST", default.reports_burst, int),
        heavy_per_s=positive(env, "GATEWAY_HEAVY_CALLS_PER_S", default.heavy_per_s, float),
        heavy_burst=positive(env, "GATEWAY_HEAVY_CALLS_BURST", default.heavy_burst, int),
        concurrent_calls=positive(env, "GATEWAY_CONCURRENT_CALLS", default.concurrent_calls, int),
    )
    if limits.reports_burst < max_batch:  # a full batch could never be admitted
        raise SettingInvalid(
            "GATEWAY_REPORTS_BURST",
            limits.reports_burst,
            "burst_holds_a_batch",
            f"不得小于一批报告的上限 GATEWAY_MAX_BATCH（{max_batch}）",
            f"must be at least a full batch, GATEWAY_MAX_BATCH ({max_batch})",
        )
    return limits


Number = TypeVar("Number", int, float)


def positive(
    env: Mapping[str, str], name: str, default: Number, kind: Callable[[str], Number]
) -> Number:
    """The variable as a finite number above zero; its default when unset."""
    text = env.get(name)
    if text is None:
        return default
    try:
        value = kind(text)
    except ValueError:
        value = kind("0")
    if not (value > 0 and math.isfinite(value)):
        raise SettingInvalid(
            name,
            text,
            "positive_number",
            "须为大于 0 的" + ("整数" if kind is int else "数"),
            "must be a " + ("whole " if kind is int else "") + "number above 0",
        )
    return value
