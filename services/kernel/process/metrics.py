"""Prometheus metrics of one process: reports answered by outcome, request durations, calls
refused by an access rule, and gauges sampled when scraped (the names are explained in
deploy/README.md)."""

from __future__ import annotations

import logging
from collections import Counter as Tally
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, Protocol

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import generate_latest

from services.kernel.process.logs import about

log = logging.getLogger(__name__)
disable_created_metrics()  # no *_created series: they double the output and nobody alerts on them

OUTCOMES = ("accepted", "duplicate", "conflict", "rejected")
Sample = tuple[str, str, Mapping[str, str], float]  # (name, help, labels, value)


class Metrics:
    """One process's metrics, in a registry of its own (tests start several in one process)."""

    def __init__(self, service: str, *samplers: Callable[[], Iterable[Sample]]):
        self.service = service
        self.registry = CollectorRegistry(auto_describe=True)
        self.events = Counter(
            "zhaoshang_events_handled",
            "Reports answered, by outcome: accepted, duplicate, conflict, rejected",
            ["service", "outcome"],
            registry=self.registry,
        )
        for outcome in OUTCOMES:  # every series exists from the start, so rate() sees the first
            self.events.labels(service, outcome)
        self.latency = Histogram(
            "zhaoshang_request_duration_seconds",
            "Time to answer one request (RPC, gRPC call, consumed message, timer), by outcome",
            ["service", "entrypoint", "outcome"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=self.registry,
        )
        self.refused = Counter(
            "zhaoshang_calls_refused",
            "Calls refused PERMISSION_DENIED by an access rule (the gateway), by method and rule",
            ["service", "method", "rule"],
            registry=self.registry,
        )
        self.registry.register(_Sampled(service, samplers))

    def record_outcomes(self, outcomes: Iterable[Mapping], reports: Iterable[Any] = ()) -> None:
        """Count each outcome; log the ones that were not accepted, with their event."""
        statuses = Tally(outcome.get("status", "unknown") for outcome in outcomes)
        for status, count in statuses.items():
            self.events.labels(self.service, status).inc(count)
        if not statuses.keys() & {"rejected", "conflict"}:
            return
        by_id = {str(r.get("event_id")): r for r in reports if isinstance(r, Mapping)}
        for outcome in outcomes:
            status = outcome.get("status", "unknown")
            if status in ("rejected", "conflict"):
                event_id = outcome.get("event_id")
                report = by_id.get(str(event_id), {"event_id": event_id})
                log.warning(
                    "report %s %s",
                    event_id,
                    status,
                    extra=about(report, status=status, errors=outcome.get("errors")),
                )

    def observe(self, entrypoint: str, seconds: float, failed: bool) -> None:
        self.latency.labels(self.service, entrypoint, "error" if failed else "ok").observe(seconds)

    def record_refusal(self, method: str, rule: str) -> None:
        self.refused.labels(self.service, method, rule).inc()

    def exposition(self) -> bytes:
        return generate_latest(self.registry)

    def counting(self, ingestor: Ingestor) -> Ingestor:
        """`ingestor`, counting and logging the outcome of every report it answers."""
        return _CountingIngestor(ingestor, self)


class Ingestor(Protocol):
    max_batch: int

    def publish(self, raw_events: Sequence[Any]) -> list[dict]: ...

    def validate(self, raw_events: Sequence[Any]) -> list[dict]: ...


class _CountingIngestor:
    def __init__(self, ingestor: Ingestor, metrics: Metrics):
        self._ingestor = ingestor
        self._metrics = metrics
        self.max_batch = ingestor.max_batch

    def publish(self, raw_events: Sequence[Any]) -> list[dict]:
        outcomes = self._ingestor.publish(raw_events)
        self._metrics.record_outcomes(outcomes, raw_events)
        return outcomes

    def validate(self, raw_events: Sequence[Any]) -> list[dict]:
        return self._ingestor.validate(raw_events)  # a preview: nothing reported, nothing counted


class _Sampled:
    """Gauges read when scraped (backlogs, positions, dead letters), so they are never stale.
    Each sampler fails alone: with the broker down, the store's gauges are still reported."""

    def __init__(self, service: str, samplers: Iterable[Callable[[], Iterable[Sample]]]):
        self.service = service
        self.samplers = list(samplers)

    def describe(self) -> list:
        return []  # the gauges depend on what sample() finds; nothing to check up front

    def collect(self) -> Iterator[GaugeMetricFamily]:
        families: dict[str, GaugeMetricFamily] = {}
        samples: list[Sample] = []
        for sampler in self.samplers:
            try:
                samples.extend(sampler())
            except Exception as error:  # an unreachable store or broker must not break a scrape
                log.warning("metrics of %s: %s failed (%s)", self.service, sampler.__name__, error)
        for name, help_text, labels, value in samples:
            names = ["service", *labels]
            family = families.setdefault(name, GaugeMetricFamily(name, help_text, labels=names))
            family.add_metric([self.service, *labels.values()], value)
        yield from families.values()
