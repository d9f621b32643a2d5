"""`make bench [NAME=...]`: measure, and write the figures to bench/results.json.

Each entry: {"name", "value", "unit", "baseline", "ratio", "machine", "when"}. A figure is
measured here, on this machine, in one run with its baseline; never asserted in the tests.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
from datetime import UTC, datetime
from pathlib import Path

from bench import console, fairness, ingest, merkle

RESULTS = Path(__file__).parent / "results.json"
# name -> run() returning result entries; "ingest" gives ingest_batched_events_per_s,
# ingest_single_events_per_s, ingest_to_ranking_p99_ms, service_rss_mib_after_1m_reports and
# rebuild_events_per_s (over the stores a million reports made); "fairness" fairness_p99_ms.
# `python -m bench.rebuild` rebuilds over a log its applications write, without the system.
BENCHMARKS = {
    "ingest": ingest.run,
    fairness.NAME: fairness.run,
    console.NAME: console.run,  # console_dashboard_p95_ms, console_projects_p95_ms
    merkle.NAME: merkle.run,  # merkle_ingest_events_per_s, merkle_*_proof_bytes at 1,000,000
}


def machine() -> str:
    python = platform.python_version()
    return f"{platform.node()} {platform.machine()} {os.cpu_count()} cores, Python {python}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make bench")
    parser.add_argument("--name", choices=sorted(BENCHMARKS), help="run one benchmark only")
    args = parser.parse_args(argv)
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else []
    for name, run in BENCHMARKS.items():
        if args.name and name != args.name:
            continue
        for entry in run():
            entry.update(machine=machine(), when=datetime.now(UTC).isoformat(timespec="seconds"))
            results = [r for r in results if r["name"] != entry["name"]] + [entry]
            print(json.dumps(entry, ensure_ascii=False))
    RESULTS.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
