"""Where the time goes on the batched ingest path: `python -m bench.profile`.

Runs the batched load of bench/ingest.py against the system on PostgreSQL with py-spy sampling
each process (gateway, registry, tracking, scoring) for the whole load, then prints per process
the functions that take the most time, by own time and including what they call, and writes
the collapsed stacks to var/profile/<process>.txt (for flamegraph.pl or speedscope).

py-spy (a dev dependency) needs to be allowed to read other processes (root, or ptrace).
"""

from __future__ import annotations

import argparse
import shutil
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

from bench.ingest import BATCH, BATCH_SENDERS, running_system, send, wait_until_applied
from tools.loadgen import generate_load

PROCESSES = ("gateway", "registry", "tracking", "scoring")
OUT = Path("var/profile")
IDLE = ("wait", "select", "poll", "epoll", "drain_events", "sleep", "_recv", "recv_into", "accept")


def frame_name(frame: str) -> str:
    """'function (path/to/module.py:line)' -> 'function (module.py)', the line dropped."""
    name, _, where = frame.partition(" (")
    return f"{name} ({where.rsplit('/', 1)[-1].split(':')[0]})" if where else name


def summarise(collapsed: Path, top: int) -> str:
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = idle = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = [frame_name(f) for f in stack.split(";") if f]
        if not frames:
            continue
        n = int(count)
        total += n
        if any(frames[-1].startswith(word) for word in IDLE):
            idle += n
            continue
        own[frames[-1]] += n
        for frame in set(frames):
            inclusive[frame] += n
    busy = total - idle
    lines = [f"{collapsed.stem}: {total} samples, {busy} busy ({100 * busy / max(total, 1):.0f}%)"]
    lines.append("  own time (share of busy samples):")
    lines += [f"    {100 * n / max(busy, 1):5.1f}%  {f}" for f, n in own.most_common(top)]
    lines.append("  including callees:")
    lines += [f"    {100 * n / max(busy, 1):5.1f}%  {f}" for f, n in inclusive.most_common(top)]
    return "\n".join(lines)


def record(py_spy: str, pid: int, output: Path, gil: bool = False) -> list[str]:
    options = ["--format", "raw", "--rate", "200", "--nonblocking", "--output", str(output)]
    return [py_spy, "record", "--pid", str(pid), *options, *(["--gil"] if gil else [])]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("--reports", type=int, default=30_000)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument(
        "--single", type=int, metavar="SENDERS", help="one report per call from SENDERS senders"
    )
    parser.add_argument(
        "--gil",
        action="store_true",
        help="only samples holding the GIL: Python's own CPU time, not a green thread's wait",
    )
    args = parser.parse_args(argv)
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    OUT.mkdir(parents=True, exist_ok=True)
    reports = generate_load(args.reports, seed=13)
    gil = args.gil
    with running_system(GATEWAY_FAIR_SHARE="0") as system:  # as bench/ingest.py: no key limit
        recorders = {
            name: subprocess.Popen(
                record(py_spy, system.supervisor.processes[name].pid, OUT / f"{name}.txt", gil),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for name in PROCESSES
        }
        try:
            if args.single:
                send(system, reports, args.single, 1)
            else:
                send(system, reports, BATCH_SENDERS, BATCH)
            wait_until_applied(system.dbname)
        finally:
            for recorder in recorders.values():
                recorder.send_signal(signal.SIGINT)  # py-spy writes what it has
            for recorder in recorders.values():
                recorder.wait(60)
    for name in PROCESSES:
        print(summarise(OUT / f"{name}.txt", args.top))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
