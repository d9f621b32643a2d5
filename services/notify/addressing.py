"""Who is sent what: the notices a published ranking calls for (a circular notice to each unit
that receives circulars, a 约谈通知 to each summoned unit, at its leaders' addresses when the
recipients file names them) and the reminders due on a day, each addressed to the channels the
recipients file gives the unit. The notices are new aggregates; the application saves them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Container, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

from services.kernel.contract.ranking import Ranking
from services.kernel.reference import Reference
from services.notify import notices
from services.notify.config import Recipients
from services.notify.domain import CIRCULAR, REMINDER, SUMMONS, Notice, notice_id, notice_key
from services.notify.reminders import Deadline, Stage

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Addressing:
    recipients: Recipients
    ref: Reference
    now: Callable[[], datetime]  # when a notice is issued

    def publication_notices(
        self,
        ranking: Ranking,
        published_on: date,
        attachment: dict,
        commitments: Sequence[Mapping] = (),
        heads: Sequence[dict] = (),
    ) -> list[Notice]:
        """A circular notice per unit that receives circulars, a 约谈通知 per summoned unit;
        each carries `attachment` (the circular as .docx: its ranking hash, name, sha256). The
        circular's letter lists the 约谈 commitments still open (`commitments`, (十九)) and the
        signed tree heads the circular was made under (`heads`)."""
        about, attachments = f"ranking:{ranking['hash']}", [attachment]
        issued = []
        for unit, contacts in self.recipients.circular_contacts():
            text = notices.circular_letter(
                ranking, published_on, self._name(unit), commitments, heads
            )
            issued.append(
                self._issue(CIRCULAR, about, unit, text, contacts.channels(), attachments)
            )
        for region in ranking.get("summons", []):
            summoned = self.recipients.contacts(region)
            if summoned is None or not summoned.summons_channels():
                log.warning("no address for summoned unit %s: its 约谈通知 is not sent", region)
                continue
            leaders = [f"{leader.role}{leader.name}" for leader in summoned.leaders]
            text = notices.summons_letter(
                ranking, region, published_on, self._name(region), leaders
            )
            channels = summoned.summons_channels()
            issued.append(self._issue(SUMMONS, about, region, text, channels, attachments))
        return issued

    def reminder_notices(
        self, due: Iterable[tuple[Deadline, str, Stage]], today: date, issued: Container[UUID]
    ) -> list[Notice]:
        """A notice per (deadline, unit, stage) due, unless `issued` holds it already or the
        unit has no address."""
        reminders = []
        for deadline, unit, stage in due:
            key = notice_key(REMINDER, deadline.item, unit, stage.name)
            contacts = self.recipients.contacts(unit)
            if notice_id(key) in issued or contacts is None:
                continue
            text = notices.reminder_text(deadline.item, unit, stage, today, self.ref, deadline)
            reminders.append(
                self._issue(
                    REMINDER, deadline.item, unit, text, contacts.channels(), stage=stage.name
                )
            )
        return reminders

    def circulated(self, about: str, letter: Callable[[str], notices.Text]) -> list[Notice]:
        """A notice to each unit that receives circulars (the yearly circular, (十五)):
        `letter` writes it to the unit's name."""
        return [
            self._issue(CIRCULAR, about, unit, letter(self._name(unit)), contacts.channels())
            for unit, contacts in self.recipients.circular_contacts()
        ]

    def _name(self, unit: str) -> str:
        return notices.unit_name(unit, self.ref)

    def _issue(
        self,
        kind: str,
        about: str,
        unit: str,
        text: notices.Text,
        channels: list[dict],
        attachments: list[dict] | None = None,
        stage: str = "",
    ) -> Notice:
        return Notice.issue(
            kind=kind,
            about=about,
            unit=unit,
            stage=stage,
            subject=text.subject,
            text=text.body,
            attachments=attachments or [],
            channels=channels,
            issued_at=self.now(),
        )
