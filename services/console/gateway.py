"""The console as a client of the gateway: one TLS channel with the console's `delegate` key, and
per signed-in person a client whose every call names that person, unit and roles
(services/gateway/delegation.py), so the gateway applies that person's scope and records them as
the operator of what they report."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc

from zhaoshang.api import zhaoshang_pb2 as pb
from zhaoshang.api import zhaoshang_pb2_grpc as pb_grpc
from zhaoshang.client import API_KEY_HEADER, GatewayClient, open_channel


@dataclass(frozen=True)
class Person:
    user: str
    unit: str
    roles: tuple[str, ...]  # the gateway's roles (services/console/roles.py GATEWAY_ROLES)


class _OnBehalfOf(grpc.UnaryUnaryClientInterceptor, grpc.StreamUnaryClientInterceptor):
    def __init__(self, api_key: str, person: Person) -> None:
        self.metadata = [
            (API_KEY_HEADER, api_key),
            ("x-on-behalf-of-user", person.user),
            ("x-on-behalf-of-unit", person.unit),
            ("x-on-behalf-of-roles", ",".join(person.roles)),
        ]

    def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        return continuation(details._replace(metadata=self.metadata), request)

    def intercept_stream_unary(self, continuation: Any, details: Any, requests: Any) -> Any:
        return continuation(details._replace(metadata=self.metadata), requests)  # Evidence.Upload


class PersonClient(GatewayClient):
    """GatewayClient's calls, made for one person over the console's shared channel."""

    def __init__(self, channel: grpc.Channel, timeout: float) -> None:  # no channel of its own
        self.timeout = timeout
        self._channel = channel
        self._ingest = pb_grpc.IngestStub(channel)
        self._query = pb_grpc.QueryStub(channel)
        self._audit = pb_grpc.AuditStub(channel)
        self._office = pb_grpc.OfficeStub(channel)
        self._evidence = pb_grpc.EvidenceStub(channel)

    def close(self) -> None:  # the shared channel stays open
        pass

    def try_policy(self, quarter: str, changes: dict) -> dict:
        """Query.TryPolicy (试算): the quarter under a changed policy; nothing stored."""
        request = pb.TryPolicyRequest(quarter=quarter, changes_json=json.dumps(changes))
        return json.loads(self._query.TryPolicy(request, timeout=self.timeout).content_json)


class Gateway:
    def __init__(
        self,
        target: str,
        api_key: str,
        ca_file: str | Path | None = None,
        plaintext: bool = False,
        timeout: float = 30.0,
    ) -> None:
        self.api_key = api_key
        self.timeout = timeout
        self._channel = open_channel(target, ca_file, plaintext=plaintext)

    def for_person(self, person: Person) -> PersonClient:
        channel = grpc.intercept_channel(self._channel, _OnBehalfOf(self.api_key, person))
        return PersonClient(channel, self.timeout)

    def close(self) -> None:
        self._channel.close()


def status_of(error: grpc.RpcError) -> tuple[grpc.StatusCode | None, str]:
    """A refused call's code and the message for people (the gateway's Chinese message)."""
    code = error.code() if hasattr(error, "code") else None
    details = error.details() if hasattr(error, "details") else ""
    return code, details or ""
