"""The gateway's errors, and the one table of the gRPC status each is answered with.

Every error the gateway answers is a `Problem` (services/kernel/contract/errors.py): field,
value, rule, in Chinese and in English. Over gRPC its text (`str`) is the call's details,
both languages at once; over AMQP its `to_dict` is the FieldError of a rejection.
`GRPC_STATUS` says how each kind is answered; `answering` applies it to a gRPC handler, and the
AMQP ingest sorts what it cannot ingest by the same table (services/gateway/amqp_ingest.py).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

import grpc

from services.kernel.contract.errors import Problem, RuleBroken, clip

log = logging.getLogger(__name__)


class GatewayProblem(Problem):
    """A Problem whose text is both messages, `zh / en`: what a gRPC caller reads."""

    def __str__(self) -> str:
        return f"{self.message_zh} / {self.message_en}"


# --- requests the gateway refuses itself --------------------------------------------------------


class Refused(GatewayProblem):
    """A request the gateway answers without asking a service."""


class InvalidRequest(Refused):
    """A request argument that is missing or malformed."""


class InvalidField(InvalidRequest):
    """An argument naming what the reference data does not know; its text names field and rule
    in each language."""

    def __str__(self) -> str:
        named = f"{self.field} [{self.rule}]: "
        return f"{named}{self.message_zh} / {named}{self.message_en}"


class NotFound(Refused):
    """The thing asked for does not exist (a project, a ranking, a scorecard)."""


class PermissionDenied(Refused):
    """The caller may not do this: its credential, delegation or roles do not allow it."""


class AccessDenied(PermissionDenied):
    """A call or an object outside the caller's roles or read scope (access.py); its text names
    field and rule in each language, as InvalidField's does."""

    __str__ = InvalidField.__str__


class UnknownMethod(Refused):
    """A gRPC method the gateway does not serve."""

    def __init__(self, method: str):
        named = clip(method)
        super().__init__(
            "method",
            method,
            "unknown_method",
            f"网关没有方法 {named}：它提供 zhaoshang.v1 的 Ingest、Query、Audit、Office 以及 gRPC "
            "健康检查和反射（规则 unknown_method）",
            f"the gateway has no method {named}: it serves zhaoshang.v1's Ingest, Query, Audit "
            "and Office, gRPC health and reflection (rule unknown_method)",
        )


class Unauthenticated(GatewayProblem):
    """No credentials, or credentials naming no source (services/gateway/auth.py)."""

    def __str__(self) -> str:
        return f"{self.field} [{self.rule}]: {super().__str__()}"


class Throttled(GatewayProblem):
    """A call beyond its caller's fair share (services/gateway/fairshare.py): answered
    RESOURCE_EXHAUSTED, with `retry_after` seconds in its text and in the trailing metadata
    `retry-after`."""

    def __init__(self, field: str, value: Any, rule: str, zh: str, en: str, retry_after: float):
        super().__init__(field, value, rule, zh, en)
        self.retry_after = retry_after

    def __str__(self) -> str:
        return f"{self.field} [{self.rule}]: {super().__str__()}"


# --- batches the transports cannot take ---------------------------------------------------------


class BatchTooLarge(GatewayProblem):
    """More reports than one call may carry."""

    def __init__(self, size: int, limit: int):
        super().__init__(
            "events",
            size,
            "max_batch",
            f"events 的值 {size} 超过上限：一批最多 {limit} 条报告（规则 max_batch），"
            "请拆分后重新发送",
            f"events: {size} reports, but a batch holds at most {limit} reports (rule "
            "max_batch); split the batch",
        )
        self.size = size
        self.limit = limit


class NotABatch(GatewayProblem):
    """An AMQP body that is not an envelope or a batch; answered, never retried."""


class Undecodable(GatewayProblem):
    """An event its transport could not decode (bad payload JSON). Never raised: it keeps its
    place in the batch and is answered "rejected" with this error."""

    def __init__(self, event_id: Any, field: str, value: Any, rule: str, zh: str, en: str):
        super().__init__(field, value, rule, zh, en)
        self.event_id = event_id


# --- services that did not answer with a result (services/gateway/rpc.py) -----------------------


class BackendError(GatewayProblem):
    """A nameko call that gave no result; `service` names the service or `service.method`."""

    rule = "service_error"

    def __init__(self, message_zh: str, message_en: str, service: str = ""):
        super().__init__("service", service, type(self).rule, message_zh, message_en)


class ServiceUnavailable(BackendError):
    """The service did not answer: not running, broker down, or too slow. Retry later."""

    rule = "service_unavailable"


class ServiceFailed(BackendError):
    """The service answered with an error instead of a result."""

    rule = "service_failed"


class ServiceRefused(BackendError, RuleBroken):
    """The service refused the request under a business rule (its `RuleBroken`)."""

    rule = "service_refused"


GRPC_STATUS: dict[type[Problem], grpc.StatusCode] = {
    InvalidRequest: grpc.StatusCode.INVALID_ARGUMENT,
    InvalidField: grpc.StatusCode.INVALID_ARGUMENT,
    NotFound: grpc.StatusCode.NOT_FOUND,
    PermissionDenied: grpc.StatusCode.PERMISSION_DENIED,
    AccessDenied: grpc.StatusCode.PERMISSION_DENIED,
    Unauthenticated: grpc.StatusCode.UNAUTHENTICATED,
    Throttled: grpc.StatusCode.RESOURCE_EXHAUSTED,
    UnknownMethod: grpc.StatusCode.UNIMPLEMENTED,
    BatchTooLarge: grpc.StatusCode.INVALID_ARGUMENT,
    NotABatch: grpc.StatusCode.INVALID_ARGUMENT,
    ServiceRefused: grpc.StatusCode.FAILED_PRECONDITION,
    ServiceUnavailable: grpc.StatusCode.UNAVAILABLE,
    ServiceFailed: grpc.StatusCode.INTERNAL,
}


def status_of(error: BaseException) -> grpc.StatusCode | None:
    """The status `error` is answered with, by its nearest kind in the table; None for an error
    the table does not know (a fault: it is not dressed up as a caller's mistake)."""
    for kind in type(error).__mro__:
        if kind in GRPC_STATUS:
            return GRPC_STATUS[kind]
    return None


RETRY_AFTER = "retry-after"  # trailing metadata of a throttled call: seconds, e.g. 0.5


def abort(context: grpc.ServicerContext, error: Problem, code: grpc.StatusCode) -> NoReturn:
    """End the call with `code` and the error's text (a throttled call also says when to retry);
    raises, as grpcio's abort does."""
    if isinstance(error, Throttled):
        context.set_trailing_metadata(((RETRY_AFTER, f"{error.retry_after:g}"),))
    context.abort(code, str(error))


Handler = TypeVar("Handler", bound=Callable[..., Any])


def answering(handler: Handler) -> Handler:
    """Turn the gateway's errors into gRPC status codes with a message a caller can act on."""

    @functools.wraps(handler)
    def wrapper(self: Any, request: Any, context: grpc.ServicerContext) -> Any:
        try:
            return handler(self, request, context)
        except Problem as error:
            code = status_of(error)
            if code is None:
                raise
            if code == grpc.StatusCode.INTERNAL:
                log.error("%s: %s", handler.__qualname__, error)
            abort(context, error, code)

    return wrapper  # type: ignore[return-value]
