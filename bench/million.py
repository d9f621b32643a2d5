"""The part of `make bench NAME=ingest` that needs a million reports (issue 19's figures):

- `service_rss_mib_after_1m_reports`: the system (bench/ingest.py's, still running) is sent
  load-generator quarters (tools/loadgen/; distinct seeds, so distinct projects, leaders and
  event ids) in the batched way until it has taken 1,000,000 reports in all, the ones measured
  before counted; when scoring has applied them, each service's resident memory is read from
  /proc. Value: the largest service's; baseline: the largest after the first batched load of
  the same run, so the ratio is what a million reports added.
- `rebuild_events_per_s`: then, once the machine is quiet (the services have sealed what the
  load stored), the year's rankings are rebuilt from those stores, as bench/rebuild.py does
  over its own generated log, beside the library's read-and-decode of the same logs.
"""

from __future__ import annotations

import itertools
import os
import sys
import time
from pathlib import Path

from bench import rebuild
from tools.loadgen import generate_load

REPORTS = int(os.environ.get("BENCH_MILLION_REPORTS", "1000000"))
LOAD = 50_000  # reports per generated quarter
FIRST_SEED = 1000  # apart from the batched (11) and single (12) loads' seeds
RSS_NAME = "service_rss_mib_after_1m_reports"
QUIET = 0.10  # of the machine's CPU, over a second


def rss_mib(pid: int) -> float:
    """A process's resident memory now (VmRSS), MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise LookupError(f"no VmRSS for process {pid}")


def resident(system) -> dict[str, float]:
    """Each service process's resident memory, MiB."""
    return {
        name: round(rss_mib(process.pid), 1)
        for name, process in system.supervisor.processes.items()
        if process.poll() is None
    }


def _busy_jiffies() -> tuple[int, int]:
    """The machine's CPU time so far (/proc/stat): busy and all, in jiffies."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle and iowait
    return sum(values) - idle, sum(values)


def quiesce(timeout: float = 600.0) -> float:
    """Wait until the machine is quiet (under QUIET of its CPU busy for a second): the services
    finish what follows a load (sealing and the Merkle trees of a million reports' events) before
    the rebuild is timed beside them. The seconds waited."""
    started = time.monotonic()
    busy, total = _busy_jiffies()
    while time.monotonic() - started < timeout:
        time.sleep(1.0)
        now_busy, now_total = _busy_jiffies()
        share = (now_busy - busy) / max(now_total - total, 1)
        busy, total = now_busy, now_total
        if share < QUIET:
            break
    return time.monotonic() - started


def load_up_to(system, already: int, send, wait_until_applied, senders: int, batch: int) -> int:
    """Send quarters until the system has taken REPORTS reports (`already` of them before);
    the reports sent here."""
    sent = 0
    for seed in itertools.count(FIRST_SEED):
        if already + sent >= REPORTS:
            break
        quarter = rebuild.QUARTERS[seed % len(rebuild.QUARTERS)]
        reports = generate_load(min(LOAD, REPORTS - already - sent), seed, quarter)
        send(system, reports, senders, batch)
        sent += len(reports)
        print(f"  {already + sent:,} reports taken", file=sys.stderr, end="\r")
    print(file=sys.stderr)
    wait_until_applied(system.dbname, timeout=1800.0)
    return sent


def run(system, already: int, after_first: dict[str, float], ingest) -> list[dict]:
    """Both entries; `after_first`: the services' RSS after the first batched load;
    `ingest`: bench/ingest.py (its `send` and `wait_until_applied`)."""
    started = time.monotonic()
    sent = load_up_to(
        system, already, ingest.send, ingest.wait_until_applied, ingest.BATCH_SENDERS,
        ingest.BATCH,
    )  # fmt: skip
    seconds = time.monotonic() - started
    after = resident(system)
    largest, first_largest = max(after, key=after.get), max(after_first.values())
    rebuild.settle(system.dbname)
    quiet = quiesce()
    print(f"  the machine was quiet after {quiet:.0f}s", file=sys.stderr)
    rebuilt = rebuild.run(system.dbname, f", stored by the system from these {REPORTS:,} reports")
    return [
        {
            "name": RSS_NAME,
            "value": after[largest],
            "unit": "MiB",
            "baseline": first_largest,
            "ratio": round(after[largest] / first_largest, 2),
            "largest": largest,
            "rss_mib": after,
            "rss_mib_after_first_load": after_first,
            "reports_per_s": round(sent / seconds, 1),
            "detail": f"{already + sent:,} reports taken by the system as processes on "
            f"PostgreSQL ({sent:,} of them load-generator quarters sent in batches of "
            f"{ingest.BATCH} from {ingest.BATCH_SENDERS} senders after the other measurements, "
            f"in {seconds:.0f}s); value: the largest service's resident memory (VmRSS) once "
            "scoring had applied them all; baseline: the largest after the first "
            f"{already - ingest.SINGLE_REPORTS:,} reports of the same run; target: at most 250",
        },
        *rebuilt,
    ]
