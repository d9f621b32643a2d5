"""The single-event figure against an earlier commit, interleaved: issue 19's A/B.

This VM's speed moves by a third within an hour (README "Measured here"), so one run of each
commit minutes apart says little. Here both systems run at once, each started from its own
checkout, and the same single-event load (bench/ingest.py's `measure_single`, a fresh seed each
round, the same seeds for both) goes to one and then the other, the order swapped every round;
the ratio is the median of the rounds' ratios. The idle system beside each measurement costs
both alike.

`BENCH_AB_TREE`: a checkout of the earlier commit with its own `.venv` (`git worktree add
/tmp/ab <commit> && make -C /tmp/ab install`); `BENCH_AB_ROUNDS` (default 4) and
`BENCH_AB_REPORTS` (default 4,000) size it. Each side runs this file as a worker
(`python bench/ab.py --worker`) with its own interpreter, in its own checkout, importing that
checkout's bench/ingest.py: so only the standard library is imported here at the top.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve()
ROUNDS = int(os.environ.get("BENCH_AB_ROUNDS", "4"))
REPORTS = int(os.environ.get("BENCH_AB_REPORTS", "4000"))
FIRST_SEED = 7100  # loads of their own: never those bench/ingest.py or bench/million.py send


class Side:
    """One checkout's system, measured on request by a worker process."""

    def __init__(self, tree: Path) -> None:
        self.tree = tree
        self.commit = subprocess.run(
            ["git", "-C", str(tree), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        env = {**os.environ, "BENCH_SINGLE_REPORTS": str(REPORTS)}
        self.worker = subprocess.Popen(
            [str(tree / ".venv/bin/python"), str(HERE), "--worker"],
            cwd=tree,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self._answer()  # its system is up

    def measure(self, seed: int) -> dict:
        assert self.worker.stdin is not None
        self.worker.stdin.write(f"{seed}\n")
        self.worker.stdin.flush()
        return self._answer()

    def _answer(self) -> dict:
        assert self.worker.stdout is not None
        line = self.worker.stdout.readline()
        if not line:
            raise RuntimeError(f"the worker in {self.tree} stopped (exit {self.worker.wait()})")
        return json.loads(line)

    def stop(self) -> None:
        if self.worker.stdin is not None:
            self.worker.stdin.close()  # the worker stops its system and exits
        self.worker.wait(300)


def interleaved(earlier: Path, current: Path) -> dict:
    """ROUNDS single-event loads on each side, alternating; rates, medians, the ratio."""
    sides = {"current": Side(current), "earlier": Side(earlier)}
    rounds: list[dict[str, float]] = []
    try:
        for n in range(ROUNDS):
            order = ["current", "earlier"] if n % 2 == 0 else ["earlier", "current"]
            measured = {name: sides[name].measure(FIRST_SEED + n) for name in order}
            rounds.append({name: round(m["rate"], 1) for name, m in measured.items()})
            print(f"A/B round {n + 1}: {rounds[-1]}", file=sys.stderr)
    finally:
        for side in sides.values():
            side.stop()
    return {
        "commit": sides["earlier"].commit,
        "rounds": rounds,
        "current": statistics.median(r["current"] for r in rounds),
        "earlier": statistics.median(r["earlier"] for r in rounds),
        "ratio": round(statistics.median(r["current"] / r["earlier"] for r in rounds), 3),
    }


def _worker() -> None:
    """In a checkout: start its system, then measure a load for each seed read from stdin."""
    sys.path[0] = os.getcwd()  # this checkout's bench and tools, not this file's folder
    from bench import ingest

    chosen = [0]
    generate = ingest.generate_load
    ingest.generate_load = lambda n, seed, *rest: generate(n, chosen[0], *rest)
    with ingest.running_system(GATEWAY_FAIR_SHARE="0") as system:
        print(json.dumps({"ready": True}), flush=True)
        for line in sys.stdin:
            chosen[0] = int(line)
            single = ingest.measure_single(system)
            print(json.dumps({"rate": single["rate"]}), flush=True)


if __name__ == "__main__" and sys.argv[1:] == ["--worker"]:
    _worker()
