"""Load for the fault tests and the benchmarks: many valid v1 reports, fast and deterministic.

`generate_load(n, seed)` returns `n` raw reports (docs/CONTRACT.md) for one quarter, about ten per
project, from all 17 市州 (`pref:<code>`, the 市州 of the project's region) and the office
(`office`, its checks of milestones), in publication order (tools/loadgen/generate.py).

The same (n, seed, quarter) gives the same reports with the same event ids; different seeds give
different project codes and event ids, so two loads never collide in one system.
`sender_streams` splits a load over a few concurrent senders (tools/loadgen/streams.py), and
`Sender` sends it as the prefecture systems and the office would: in batches of one source over
gRPC, each with its source's API key, resending a batch with the same event ids until it is
answered (tools/loadgen/sender.py).
"""

from tools.loadgen.generate import generate_load
from tools.loadgen.sender import RETRYABLE, Answered, Sender, SendLog, channel, metadata
from tools.loadgen.streams import by_source, sender_streams

__all__ = [
    "RETRYABLE",
    "Answered",
    "SendLog",
    "Sender",
    "by_source",
    "channel",
    "generate_load",
    "metadata",
    "sender_streams",
]
