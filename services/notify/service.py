"""notify as a nameko service: the circular (通报) and the notices of each published ranking,
deadline reminders, and their delivery by e-mail and webhook."""

from __future__ import annotations

import base64
import logging

from nameko.timer import timer

from services.kernel.process import entrypoints
from services.kernel.process.nameko_support import (
    CATCH_UP_SECONDS,
    ApplicationProvider,
)
from services.kernel.process.observability import Observability
from services.kernel.process.prompt import RpcProxy, rpc
from services.notify.application import NotifyApplication
from services.notify.bootstrap import build
from services.notify.heads import StoreHeads
from services.notify.yearly import commitment_deadlines

log = logging.getLogger(__name__)

DELIVER_SECONDS = 5  # how soon a new notice, or a retry that fell due, goes out
REMINDER_SECONDS = 3600  # reminders are by the day; hourly is soon enough after midnight


class NotifyService(entrypoints.TreeEntrypoints):
    name = "notify"

    app: NotifyApplication = ApplicationProvider(
        build, follows=["scoring", "tracking"], seal_as="notify"
    )
    observability = Observability()
    store_heads = StoreHeads()  # every store's signed head for each circular
    scoring = RpcProxy("scoring")
    tracking = RpcProxy("tracking")

    on_scoring = entrypoints.follow("notify", "scoring")
    on_tracking = entrypoints.follow("notify", "tracking")

    @timer(interval=CATCH_UP_SECONDS)
    def catch_up(self) -> None:
        entrypoints.catch_up_with(self, "scoring", "tracking")

    @timer(interval=REMINDER_SECONDS)
    def remind(self) -> None:
        self.app.issue_reminders(self._open_commitments())

    def _open_commitments(self) -> list:
        """The 约谈 commitments still open (十九), as deadlines; none while scoring is away
        (the tasks' and matters' reminders go out all the same)."""
        try:
            return commitment_deadlines(self.scoring.open_commitments())
        except Exception:
            log.warning("scoring did not answer: no commitment reminders this hour", exc_info=True)
            return []

    @timer(interval=DELIVER_SECONDS)
    def deliver(self) -> None:
        self.app.deliver_due()

    @rpc
    def circular_files(self, ranking_hash: str) -> list[str]:
        return self.app.circular_files(ranking_hash)

    @rpc
    def circular_document(self, ranking_hash: str) -> dict | None:
        """The circular's .docx: {"filename", "sha256", "content" (base64)}; None if unheard."""
        document = self.app.circular_document(ranking_hash)
        if document is None:
            return None
        content = base64.b64encode(document.content).decode("ascii")
        return {"filename": document.filename, "sha256": document.sha256, "content": content}

    @rpc
    def deliveries(
        self, unit: str | None = None, status: str | None = None, kind: str | None = None
    ) -> list[dict]:
        return self.app.deliveries(unit, status, kind)

    @rpc
    def failures(self) -> list[dict]:
        return self.app.failures()
