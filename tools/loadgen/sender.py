"""Sending a load as the prefecture systems and the office would: in batches of one source over
gRPC, each with its source's API key, resending a batch with the same event ids until it is
answered."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from zhaoshang.client import event_to_proto, outcome_from_proto

# What a sender does about a batch that got no outcomes: no answer in time, or the gateway
# saying it could not reach a service, means "try again later" with the same events.
RETRYABLE = frozenset({"UNAVAILABLE", "DEADLINE_EXCEEDED"})
API_KEY_HEADER = "x-api-key"
MAX_MESSAGE_BYTES = 64 * 1024 * 1024


class Answered:
    """The event ids some sender has had answered "accepted" or "duplicate": the office checks
    only milestones it has seen reported."""

    def __init__(self) -> None:
        self._ids: set[str] = set()
        self._lock = threading.Lock()

    def add(self, outcomes: Sequence[dict]) -> None:
        with self._lock:
            self._ids.update(
                o["event_id"] for o in outcomes if o["status"] in ("accepted", "duplicate")
            )

    def __contains__(self, event_id: object) -> bool:
        return event_id in self._ids

    def __len__(self) -> int:
        return len(self._ids)


@dataclass
class SendLog:
    """What one sender heard: every outcome of every attempt, and every failed attempt."""

    answers: list[dict] = field(default_factory=list)  # outcomes, in the order heard
    failures: list[tuple[float, str, str]] = field(default_factory=list)  # (when, code, detail)
    resent: list[list[dict]] = field(default_factory=list)  # batches that needed another try
    calls: list[tuple[float, float, int]] = field(default_factory=list)  # (sent, answered, n)
    gave_up: list[list[dict]] = field(default_factory=list)  # batches never answered


def channel(target: str) -> Any:
    import grpc

    options = [
        ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
        ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    ]
    return grpc.insecure_channel(target, options=options)


def metadata(keys: Mapping[str, str] | None, source: str) -> list[tuple[str, str]] | None:
    return None if keys is None else [(API_KEY_HEADER, keys[source])]


class Sender(threading.Thread):
    """Sending systems publishing over gRPC, one call at a time: batches of at most `batch`
    reports of one source, taken in turn from each of `streams`. A batch that got no outcomes
    is sent again, same event ids, until it is answered (or `give_up_at`, a monotonic time).
    A report that names another (`milestone_event_id`) waits until that one was answered."""

    def __init__(
        self,
        target: str,
        streams: Mapping[str, Sequence[dict]],
        keys: Mapping[str, str] | None = None,
        answered: Answered | None = None,
        batch: int = 500,
        timeout: float = 60.0,
        pause: float = 0.5,
        give_up_at: float | None = None,
    ):
        super().__init__(daemon=True)
        self.target, self.streams, self.keys = target, streams, keys
        self.answered = answered if answered is not None else Answered()
        self.batch, self.timeout, self.pause, self.give_up_at = batch, timeout, pause, give_up_at
        self.log = SendLog()

    def run(self) -> None:
        from zhaoshang.api import zhaoshang_pb2 as pb
        from zhaoshang.api import zhaoshang_pb2_grpc as pb_grpc

        with channel(self.target) as grpc_channel:
            stub = pb_grpc.IngestStub(grpc_channel)
            positions = dict.fromkeys(self.streams, 0)
            while positions:
                sent = False
                for name in list(positions):
                    batch = self._next_batch(name, positions[name])
                    if not batch:
                        continue
                    request = pb.PublishRequest(events=[event_to_proto(e) for e in batch])
                    if not self._send(
                        stub, request, batch, metadata(self.keys, batch[0]["source"])
                    ):
                        return
                    sent = True
                    positions[name] += len(batch)
                    if positions[name] == len(self.streams[name]):
                        del positions[name]
                if not sent:
                    time.sleep(0.01)  # the office waits for the milestones it checks

    def _next_batch(self, name: str, start: int) -> list[dict]:
        """The next reports of stream `name` up to the first whose reference (the milestone
        it checks) has not been answered yet."""
        batch = []
        for report in self.streams[name][start : start + self.batch]:
            referenced = report["payload"].get("milestone_event_id")
            if referenced is not None and referenced not in self.answered:
                break
            batch.append(report)
        return batch

    def _send(self, stub: Any, request: Any, batch: list[dict], meta: Any) -> bool:
        import grpc

        tries = 0
        while True:
            tries += 1
            sent = time.monotonic()
            try:
                response = stub.Publish(request, timeout=self.timeout, metadata=meta)
            except grpc.RpcError as error:
                self.log.failures.append((time.time(), error.code().name, error.details()))
                if self.give_up_at is not None and time.monotonic() > self.give_up_at:
                    self.log.gave_up.append(batch)
                    return False
                time.sleep(self.pause)
                continue
            outcomes = [outcome_from_proto(o) for o in response.outcomes]
            self.log.calls.append((sent, time.monotonic(), len(batch)))
            self.log.answers += outcomes
            self.answered.add(outcomes)
            if tries > 1:
                self.log.resent.append(batch)
            return True
