"""Notify: answers each published ranking with its circular (通报), once however often the
event is delivered."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import Tracking

from services.common import ids
from services.common.consumer import ConsumerApplication
from services.notify import circular
from services.notify.domain import Circular


class NotifyApplication(ConsumerApplication):
    name = "notify"

    def __init__(self, env: Mapping[str, str] | None = None, *, circulars: Path) -> None:
        super().__init__(env)
        self.circulars = circulars

    def process(self, upstream: str, events: list[dict], tracking: Tracking) -> None:
        written = [
            self._write(e["payload"], e["occurred_on"])
            for e in events
            if e["type"] == "ranking.published" and not self.has_circular(e["payload"]["hash"])
        ]
        self.record_tracked(tracking, *written)

    def has_circular(self, ranking_hash: str) -> bool:
        try:
            self.repository.get(ids.circular_id(ranking_hash))
        except AggregateNotFoundError:
            return False
        return True

    def _write(self, published: dict, published_on: str) -> Circular:
        ranking = {**published["ranking"], "hash": published["hash"]}
        self.circulars.mkdir(parents=True, exist_ok=True)
        stem = self.circulars / f"{ranking['quarter']}-{published['hash'][:12]}"
        # Written before the record: a crash in between writes the same bytes again.
        files = {
            stem.with_suffix(".md"): circular.render_markdown(ranking, published_on),
            stem.with_suffix(".html"): circular.render_html(ranking, published_on),
        }
        for path, text in files.items():
            path.write_text(text, encoding="utf-8")
        return Circular(
            ranking_hash=published["hash"],
            quarter=ranking["quarter"],
            policy_version=ranking["policy_version"],
            files=[str(p) for p in files],
        )

    def circular_files(self, ranking_hash: str) -> list[str]:
        return list(self.repository.get(ids.circular_id(ranking_hash)).files)
