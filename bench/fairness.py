"""`fairness_p99_ms`: one sender flooding the gateway does not raise another's p99 by more than 2×.

The system runs as processes on PostgreSQL (as bench/ingest.py starts it), with the gateway's
default limits. A well-behaved sender, 宜昌市's system, publishes its reports one a call, a
call every STEADY_PAUSE seconds, and its latency per call is measured: first alone (the
baseline), then while 武汉市's system floods the gateway from FLOOD_SENDERS threads of another
process, each publishing batches of FLOOD_BATCH reports as fast as it can and resending at once
whatever is refused, retry-after or not. The figure is the well-behaved sender's p99 with the
flood; its ratio to the p99 alone is what is held to at most 2.

Bounded: STEADY_CALLS calls per phase, the flood stops when the second phase ends (or after
FLOOD_SECONDS), every connection on loopback.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

from bench.ingest import percentiles, running_system
from tools.loadgen import by_source, channel, generate_load, metadata, sender_streams
from zhaoshang.client import event_to_proto, outcome_from_proto

NAME = "fairness"
STEADY, FLOODER = "pref:420500", "pref:420100"  # 宜昌市 and 武汉市
# A p99 of 400 calls is their 4th slowest: five runs of 400 gave ×1.49–3.18 on one day.
STEADY_CALLS = int(os.environ.get("BENCH_FAIRNESS_CALLS", "2000"))
STEADY_PAUSE = 0.05  # seconds between the well-behaved sender's calls: 20 a second
WARM_UP_CALLS = 20
FLOOD_SENDERS = 8
FLOOD_BATCH = 500
FLOOD_SECONDS = 300.0  # the flood's own bound, should the measuring side never stop it
LOAD_REPORTS = 100_000  # generated; about 12,000 of them are 武汉市's, 8,000 宜昌市's


def steady(target: str, key: str, reports: Sequence[dict]) -> list[float]:
    """Publish `reports` one a call, paced; the latency of each call in ms."""
    from zhaoshang.api import zhaoshang_pb2 as pb
    from zhaoshang.api import zhaoshang_pb2_grpc as pb_grpc

    latencies = []
    with channel(target) as grpc_channel:
        stub = pb_grpc.IngestStub(grpc_channel)
        for report in reports:
            request = pb.PublishRequest(events=[event_to_proto(report)])
            started = time.perf_counter()
            response = stub.Publish(request, timeout=60, metadata=[("x-api-key", key)])
            latencies.append((time.perf_counter() - started) * 1000)
            [outcome] = [outcome_from_proto(o) for o in response.outcomes]
            if outcome["status"] != "accepted":
                raise RuntimeError(f"the well-behaved sender's report was {outcome}")
            time.sleep(STEADY_PAUSE)
    return latencies


def flood(
    target: str,
    keys: dict[str, str],
    reports: list[dict],
    ready: Any,
    go: Any,
    stop: Any,
    tally: Any,
) -> None:
    """The flooding process: FLOOD_SENDERS threads, each its share of the subjects, greedy.
    Everything is prepared (imports, channels, requests) before `ready`; sending starts on `go`,
    so the measurement sees the flood, not a process starting."""
    import grpc

    from zhaoshang.api import zhaoshang_pb2 as pb
    from zhaoshang.api import zhaoshang_pb2_grpc as pb_grpc

    counts: Counter[str] = Counter()
    lock = threading.Lock()

    def send(source: str, requests: list[Any]) -> None:
        with channel(target) as grpc_channel:
            stub = pb_grpc.IngestStub(grpc_channel)
            go.wait()
            deadline = time.monotonic() + FLOOD_SECONDS
            for request in requests:
                while not stop.is_set() and time.monotonic() < deadline:
                    try:
                        stub.Publish(request, timeout=60, metadata=metadata(keys, source))
                    except grpc.RpcError as refused:
                        with lock:
                            counts[refused.code().name] += 1
                        continue  # at once, the same batch
                    with lock:
                        counts["reports_answered"] += len(request.events)
                    break

    threads = []
    for streams in sender_streams(reports, FLOOD_SENDERS, office=0, by_subject=True):
        [(source, stream)] = streams.items()
        requests = [
            pb.PublishRequest(events=[event_to_proto(r) for r in stream[i : i + FLOOD_BATCH]])
            for i in range(0, len(stream), FLOOD_BATCH)
        ]
        threads.append(threading.Thread(target=send, args=(source, requests)))
    for thread in threads:
        thread.start()
    ready.set()
    for thread in threads:
        thread.join()
    tally.update(counts)


def run() -> list[dict]:
    load = by_source(generate_load(LOAD_REPORTS, seed=31))
    steady_reports, flood_reports = load[STEADY], load[FLOODER]
    needed = WARM_UP_CALLS + 2 * STEADY_CALLS
    if len(steady_reports) < needed:
        raise RuntimeError(f"{len(steady_reports)} reports of {STEADY}, {needed} needed")
    warm_up, alone_reports, flooded_reports = (
        steady_reports[:WARM_UP_CALLS],
        steady_reports[WARM_UP_CALLS : WARM_UP_CALLS + STEADY_CALLS],
        steady_reports[WARM_UP_CALLS + STEADY_CALLS : needed],
    )
    spawn = multiprocessing.get_context("spawn")  # no grpc state carried over a fork
    with running_system() as system, spawn.Manager() as manager:
        keys = system.supervisor.api_keys
        steady(system.target, keys[STEADY], warm_up)
        alone = steady(system.target, keys[STEADY], alone_reports)
        ready, go, stop, tally = (manager.Event(), manager.Event(), manager.Event(), manager.dict())
        flooder = spawn.Process(
            target=flood,
            args=(system.target, {FLOODER: keys[FLOODER]}, flood_reports, ready, go, stop, tally),
        )
        flooder.start()
        try:
            if not ready.wait(FLOOD_SECONDS):
                raise RuntimeError("the flooding process did not get ready")
            go.set()
            flooded = steady(system.target, keys[STEADY], flooded_reports)
        finally:
            stop.set()
            go.set()
            flooder.join(FLOOD_SECONDS)
        flood_counts = dict(tally)
    alone_p, flooded_p = percentiles(alone), percentiles(flooded)
    print(
        "fairness:",
        {"alone": alone_p, "flooded": flooded_p, "flood": flood_counts},
        file=sys.stderr,
    )
    return [
        {
            "name": "fairness_p99_ms",
            "value": round(flooded_p["p99"], 1),
            "unit": "ms",
            "baseline": round(alone_p["p99"], 1),
            "ratio": round(flooded_p["p99"] / alone_p["p99"], 2),
            "alone_ms": {k: round(v, 1) for k, v in alone_p.items()},
            "flooded_ms": {k: round(v, 1) for k, v in flooded_p.items()},
            "flood": flood_counts,
            "detail": f"{STEADY}'s system publishing one report a call every "
            f"{STEADY_PAUSE * 1000:g} ms, {STEADY_CALLS} calls alone (baseline: their p99) and "
            f"{STEADY_CALLS} while {FLOODER}'s system floods from {FLOOD_SENDERS} threads of "
            f"another process, batches of {FLOOD_BATCH} resent at once when refused (value: "
            "the p99 then); the gateway's default limits; PostgreSQL, the system as processes "
            "on this machine; target: ratio at most 2",
        }
    ]
