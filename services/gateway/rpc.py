"""nameko RPC from the gateway's plain threads (no eventlet here: grpcio runs real threads).

A line to the services (rpc_line.py) owns a connection and a reply queue, which is expensive to
set up and not safe to share between threads, so each thread keeps its own for as long as the
process runs.
Failures are turned into errors the entrypoints understand: the service could not be reached
in time (`ServiceUnavailable`: worth retrying), it refused under a business rule
(`ServiceRefused`: the caller's to fix), or it failed (`ServiceFailed`: a fault on our side).
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Protocol

from amqp.exceptions import ChannelError
from amqp.exceptions import ConnectionError as AmqpConnectionError
from kombu.exceptions import OperationalError
from nameko.exceptions import BadRequest, RemoteError, RpcTimeout, UnknownService

from services.gateway.errors import ServiceFailed, ServiceRefused, ServiceUnavailable
from services.gateway.rpc_line import RpcLine

log = logging.getLogger(__name__)


class Rpc(Protocol):
    """What the gateway needs of RPC: call one method of one service with keyword arguments."""

    def call(self, service: str, method: str, **kwargs: Any) -> Any: ...


# Connection trouble, or a channel the broker closed.
_TRANSPORT_ERRORS = (OSError, AmqpConnectionError, OperationalError, ChannelError)


class NamekoRpc:
    """One `RpcLine` per calling thread, opened on first use, closed by `close()`."""

    def __init__(self, amqp_uri: str, timeout: float):
        self._amqp_uri = amqp_uri
        self._timeout = timeout
        self._local = threading.local()
        self._open: set[RpcLine] = set()
        self._lock = threading.Lock()
        self._closed = False

    def call(self, service: str, method: str, **kwargs: Any) -> Any:
        name = f"{service}.{method}"
        try:
            return self._line().call(service, method, kwargs)
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
        """Close every thread's line; later calls are refused."""
        with self._lock:
            self._closed = True
            lines, self._open = self._open, set()
        for line in lines:
            _close(line)

    def _line(self) -> RpcLine:
        if self._closed:
            raise ServiceUnavailable("网关正在停止", "the gateway is shutting down")
        line = getattr(self._local, "line", None)
        if line is None:
            line = self._local.line = RpcLine(self._amqp_uri, self._timeout)
            with self._lock:
                self._open.add(line)
        return line

    def _discard(self) -> None:
        line, self._local.line = getattr(self._local, "line", None), None
        if line is not None:
            with self._lock:
                self._open.discard(line)
            _close(line)


def _close(line: RpcLine) -> None:
    try:
        line.close()
    except Exception:  # a dead connection cannot be closed cleanly; it is gone either way
        log.debug("closing an RPC line failed", exc_info=True)
