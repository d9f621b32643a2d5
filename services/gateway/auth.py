"""Who is calling (README "Credentials and access"): the `Caller` a call's credential answers.

gRPC: each call carries `x-api-key: <key>` in its metadata; the key is looked up in the keys
file (credentials.py: id, holder, roles, expiry; hashes only). A call without a key but with a
verified client certificate (mutual TLS, tls.py) is the source its subject names, with that
source's default roles. A `delegate` credential acts for the person the call names
(delegation.py). Every call to the public API without a valid credential is refused before its
handler, and every other one takes its caller's fair share (fairshare.py); gRPC health and
server reflection stay open. Keys are issued, listed, revoked and rotated with the command line
beside the runtime (zhaoshang/keys.py):

    python -m zhaoshang.keys issue pref:420100 --label 武汉市招商引资系统
    python -m zhaoshang.keys list
    python -m zhaoshang.keys revoke key-4f1c2a9e0b7d
    python -m zhaoshang.keys rotate key-4f1c2a9e0b7d

AMQP: the message's `user_id` property names the source, which may report and read. RabbitMQ
refuses a message whose `user_id` is not the user of the connection it came on (unless that
user has the `impersonator` tag: never give it to a source's user), so it cannot be forged. A
deployment may prefix its users' names (`GATEWAY_AMQP_USER_PREFIX`, e.g. `staging/`): user
`staging/pref:420100` is source `pref:420100`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import grpc

from services.gateway.caller import READ, REPORT, Caller
from services.gateway.credentials import API_KEY_HEADER, KeyStore, default_roles
from services.gateway.delegation import acting_for
from services.gateway.errors import Throttled, Unauthenticated, abort, status_of
from services.gateway.fairshare import PUBLISH, FairShare
from services.gateway.tls import peer_source
from services.kernel.contract.errors import Problem
from services.kernel.contract.lookups import is_known_holder, is_known_source

VALIDATE = "/zhaoshang.v1.Ingest/Validate"  # a preview costs a caller's share as a Publish does
PROTECTED = "/zhaoshang.v1."  # every method of the public API; health and reflection stay open
CERTIFICATE = "cert:"  # a certificate's credential id: cert:<its subject's common name>


class AmqpUsers:
    """Callers named by an AMQP message's `user_id` (checked by RabbitMQ)."""

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix

    def caller_of(self, user_id: str | None) -> Caller:
        if not user_id:
            raise Unauthenticated(
                "user_id",
                "",
                "amqp_user_id_missing",
                "消息缺少 user_id 属性：请以本系统的 RabbitMQ 用户发布，并将 user_id 设为该用户名",
                "the message has no user_id property: publish as your system's RabbitMQ user "
                "and set user_id to that user's name",
            )
        source = user_id.removeprefix(self.prefix) if user_id.startswith(self.prefix) else None
        if source is None or not is_known_source(source):
            raise Unauthenticated(
                "user_id",
                user_id,
                "amqp_user_not_a_source",
                f"user_id 的值 {user_id} 不对应任何报送系统（应为 {self.prefix}office、"
                f"{self.prefix}pref:<市州代码> 等）",
                f"user_id: {user_id} names no sending system (expected {self.prefix}office, "
                f"{self.prefix}pref:<prefecture code>, …)",
            )
        return Caller(f"amqp:{user_id}", source, frozenset({REPORT, READ}))


class Authenticator:
    """Who a gRPC call comes from. Without a key store authentication is off: `caller` is
    None and reports are taken as their `source` states (a gateway built around fakes)."""

    def __init__(self, keys: KeyStore | None = None) -> None:
        self.keys = keys

    def caller(self, context: grpc.ServicerContext) -> Caller | None:
        """The call's Caller; raises Unauthenticated without a valid credential, and
        PermissionDenied or InvalidRequest for delegation it may not send (delegation.py)."""
        if self.keys is None:
            return None
        metadata = _metadata(context.invocation_metadata())
        api_key = metadata.get(API_KEY_HEADER)
        source = peer_source(context) if api_key is None else None  # a key takes precedence
        credential = certified(source) if source else self.keys.credential(api_key).caller()
        return acting_for(credential, metadata)

    def interceptors(self, fair_share: FairShare | None = None) -> list[grpc.ServerInterceptor]:
        """Without keys there is no credential to share by: no interceptor at all."""
        return [] if self.keys is None else [_CallerRequired(self, fair_share)]


def certified(source: str) -> Caller:
    """The caller a verified client certificate names: its source, with its default roles."""
    if not is_known_holder(source):
        raise Unauthenticated(
            "certificate",
            source,
            "certificate_not_a_holder",
            f"客户端证书的主体 CN {source!r} 不是已知的报送系统或审计方",
            f"the client certificate's subject CN {source!r} names no known source or auditor",
        )
    return Caller(CERTIFICATE + source, source, default_roles(source))


def _metadata(pairs: Iterable[tuple[str, Any]] | None) -> dict[str, str]:
    """A call's text metadata (the first value of each name)."""
    found: dict[str, str] = {}
    for name, value in pairs or ():
        if not name.endswith("-bin"):
            found.setdefault(name, value if isinstance(value, str) else value.decode())
    return found


class _CallerRequired(grpc.ServerInterceptor):
    """Refuses every call to the public API without a valid credential, before its handler,
    and admits the others by their caller's fair share.

    The check runs inside the handler's behaviour, where the call's context is at hand: a
    client certificate is only seen there, not in the interceptor's call details."""

    def __init__(self, auth: Authenticator, fair_share: FairShare | None) -> None:
        self.auth = auth
        self.fair_share = fair_share

    def intercept_service(self, continuation: Any, handler_call_details: Any) -> Any:
        handler = continuation(handler_call_details)
        method = handler_call_details.method
        if handler is None or not method.startswith(PROTECTED):
            return handler
        kinds = ("unary_unary", "unary_stream", "stream_unary", "stream_stream")
        return handler._replace(
            **{kind: self._checked(getattr(handler, kind), method) for kind in kinds}
        )

    def _checked(self, behaviour: Any, method: str) -> Any:
        if behaviour is None:
            return None

        def checked(request: Any, context: grpc.ServicerContext) -> Any:
            try:
                caller = self.auth.caller(context)
                release = self._admit(caller, method, request)
            except Problem as refused:
                if self.fair_share is not None and isinstance(refused, Throttled):
                    self.fair_share.hold(refused)
                abort(context, refused, status_of(refused) or grpc.StatusCode.UNAUTHENTICATED)
            try:
                return behaviour(request, context)
            finally:
                release()

        return checked

    def _admit(self, caller: Caller | None, method: str, request: Any) -> Callable[[], None]:
        if self.fair_share is None or caller is None:
            return lambda: None
        reports = len(request.events) if method in (PUBLISH, VALIDATE) else 0
        return self.fair_share.admit(caller, method, reports)
