"""nameko RPC from the gateway's plain threads (no eventlet here: grpcio runs real threads).

A `ClusterRpcProxy` owns a connection and a reply queue, which is expensive to set up and not
safe to share between threads, so each thread keeps its own for as long as the process runs.
Failures are turned into errors the entrypoints understand: the service could not be reached
in time (`ServiceUnavailable`: worth retrying), it refused under a business rule
(`ServiceRefused`: the caller's to fix), or it failed (`ServiceFailed`: a fault on our side).
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Protocol

from amqp.exceptions import ConnectionError as AmqpConnectionError
from kombu.exceptions import OperationalError
from nameko.exceptions import BadRequest, RemoteError, RpcTimeout, UnknownService
from nameko.standalone.rpc import ClusterRpcProxy

from services.gateway.errors import ServiceFailed, ServiceRefused, ServiceUnavailable
from services.kernel.bus import broker

log = logging.getLogger(__name__)


class Rpc(Protocol):
    """What the gateway needs of RPC: call one method of one service with keyword arguments."""

    def call(self, service: str, method: str, **kwargs: Any) -> Any: ...


# Connection trouble, and nameko's RuntimeError for a reply consumer whose connection dropped.
_TRANSPORT_ERRORS = (OSError, AmqpConnectionError, OperationalError, RuntimeError)


class NamekoRpc:
    """One `ClusterRpcProxy` per calling thread, opened on first use, closed by `close()`."""

    def __init__(self, amqp_uri: str, timeout: float):
        self._config = broker.nameko_config({"AMQP_URI": broker.named_transport(amqp_uri)})
        self._timeout = timeout
        self._local = threading.local()
        self._open: set[ClusterRpcProxy] = set()
        self._lock = threading.Lock()
        self._closed = False

    def call(self, service: str, method: str, **kwargs: Any) -> Any:
        name = f"{service}.{method}"
        try:
            return getattr(getattr(self._cluster(), service), method)(**kwargs)
        except RemoteError as error:
            if error.exc_type == "StoreUnavailable":
                raise ServiceUnavailable(
                    f"服务 {name} 暂时无法写入存储，请稍后重发（已保存的报告会答复 duplicate）",
                    f"service {name} cannot reach its store just now; resend later (what was "
                    "stored is answered duplicate)",
                    name,
                ) from error
            if error.exc_type == "RuleBroken":
                # nameko carries only the English message of the rule across the bus.
                raise ServiceRefused(
                    f"服务 {name} 按业务规则拒绝：{error.value}", str(error.value), name
                ) from error
            raise ServiceFailed(
                f"服务 {name} 处理出错：{error.exc_type} {error.value}",
                f"service {name} failed: {error.exc_type} {error.value}",
                name,
            ) from error
        except BadRequest as error:
            raise ServiceFailed(
                f"服务 {name} 拒绝了调用：{type(error).__name__} {error}",
                f"service {name} refused the call: {type(error).__name__} {error}",
                name,
            ) from error
        except RpcTimeout as error:
            self._discard()  # a late reply must not be mistaken for the next call's
            raise ServiceUnavailable(
                f"服务 {name} 在 {self._timeout:g} 秒内未应答，请稍后重试",
                f"service {name} did not answer within {self._timeout:g}s; retry later",
                name,
            ) from error
        except UnknownService as error:
            raise ServiceUnavailable(
                f"服务 {service} 未运行，请稍后重试",
                f"service {service} is not running; retry later",
                service,
            ) from error
        except _TRANSPORT_ERRORS as error:
            self._discard()
            raise ServiceUnavailable(
                f"无法经消息总线调用 {name}（{error}），请稍后重试",
                f"could not reach {name} over the message bus ({error}); retry later",
                name,
            ) from error

    def close(self) -> None:
        """Close every thread's proxy; later calls are refused."""
        with self._lock:
            self._closed = True
            proxies, self._open = self._open, set()
        for proxy in proxies:
            _stop(proxy)

    def _cluster(self) -> Any:
        if self._closed:
            raise ServiceUnavailable("网关正在停止", "the gateway is shutting down")
        cluster = getattr(self._local, "cluster", None)
        if cluster is not None:
            return cluster
        proxy = ClusterRpcProxy(self._config, timeout=self._timeout)
        cluster = proxy.start()
        with self._lock:
            self._open.add(proxy)
        self._local.proxy, self._local.cluster = proxy, cluster
        return cluster

    def _discard(self) -> None:
        proxy = getattr(self._local, "proxy", None)
        self._local.proxy = self._local.cluster = None
        if proxy is not None:
            with self._lock:
                self._open.discard(proxy)
            _stop(proxy)


def _stop(proxy: ClusterRpcProxy) -> None:
    try:
        proxy.stop()
    except Exception:  # a dead connection cannot be closed cleanly; it is gone either way
        log.debug("closing an RPC proxy failed", exc_info=True)
