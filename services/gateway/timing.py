"""The gateway's own metrics interceptors: every gRPC call timed by method and status code, and
one label for every method it does not serve. Here, not in kernel/process/metrics.py, so the
nameko services do not load grpc (about 20 MiB each) to count their reports.
"""

from __future__ import annotations

import time
from typing import Any

import grpc

from services.gateway.errors import UnknownMethod, abort
from services.kernel.process.metrics import Metrics

UNKNOWN_METHOD = "unknown"  # the one metrics label of every method the gateway does not serve


class CallTiming(grpc.ServerInterceptor):
    """Times every unary gRPC call by method and status code."""

    def __init__(self, metrics: Metrics):
        self.metrics = metrics

    def intercept_service(self, continuation, handler_call_details):
        handler = continuation(handler_call_details)
        if handler is None or handler.unary_unary is None:
            return handler
        method, inner = handler_call_details.method, handler.unary_unary

        def timed(request, context):
            started = time.perf_counter()
            code = "OK"
            try:
                return inner(request, context)
            except BaseException:
                code = getattr(context.code(), "name", None) or "UNKNOWN"
                raise
            finally:
                self.metrics.latency.labels(self.metrics.service, method, code).observe(
                    time.perf_counter() - started
                )

        return grpc.unary_unary_rpc_method_handler(
            timed,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


class UnknownMethods(grpc.ServerInterceptor):
    """A method the gateway does not serve is answered UNIMPLEMENTED and counted under one
    label, so no caller can add series to the metrics by inventing names.

    The first of the interceptors: it keeps the handler the others built for each method it
    serves (they wrap a method's handler alike for every call), so a call does not build it
    again. Only served methods are kept: invented names add nothing."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics
        self._served: dict[str, Any] = {}

    def intercept_service(self, continuation: Any, handler_call_details: Any) -> Any:
        method = handler_call_details.method
        handler = self._served.get(method)
        if handler is not None:
            return handler
        handler = continuation(handler_call_details)
        if handler is not None:
            self._served[method] = handler
            return handler
        unknown = UnknownMethod(handler_call_details.method)

        def unimplemented(request: bytes, context: grpc.ServicerContext) -> None:
            latency = self.metrics.latency.labels(
                self.metrics.service, UNKNOWN_METHOD, "UNIMPLEMENTED"
            )
            latency.observe(0.0)  # answered at once
            abort(context, unknown, grpc.StatusCode.UNIMPLEMENTED)

        return grpc.unary_unary_rpc_method_handler(unimplemented)
