"""A load split over concurrent senders, as the prefecture systems and the office send it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tools.loadgen.generate import ACTIVITY, OFFICE


def by_source(reports: Sequence[dict]) -> dict[str, list[dict]]:
    """Each sending system's reports, in the order given (a batch comes from one source)."""
    out: dict[str, list[dict]] = {}
    for report in reports:
        out.setdefault(report["source"], []).append(report)
    return out


def sender_streams(
    reports: Sequence[dict], count: int, office: int = 2, by_subject: bool = False
) -> list[dict[str, list[dict]]]:
    """The load split over `count` concurrent prefecture senders, balanced by the 市州's
    activity, and `office` senders of the office's checks (the office's system runs beside the
    市州's, checking what they reported). Each sender's streams are named after their source
    (the office's `office/<n>`) and keep the order given.

    `by_subject`: a 市州's reports are spread over the senders by what they are about (a
    project, a leader), as many systems of one 市州 (its counties', its departments') would
    send them; the reports about one subject stay in order in one stream.
    """
    load = [0] * count
    sender_of: dict[str, int] = {}
    for code in sorted(ACTIVITY, key=lambda c: (-ACTIVITY[c][0], c)):
        sender_of[f"pref:{code}"] = lightest = load.index(min(load))
        load[lightest] += ACTIVITY[code][0]
    sent = [0] * count
    group_of_event: dict[str, int] = {}
    out: list[dict[str, list[dict]]] = [{} for _ in range(count + office)]
    for report in reports:
        if report["source"] == OFFICE:
            n = group_of_event[report["payload"]["milestone_event_id"]] % office
            out[count + n].setdefault(f"{OFFICE}/{n}", []).append(report)
            continue
        if by_subject:
            subject = f"{report['source']}/{_subject(report)}"
            if subject not in sender_of:
                sender_of[subject] = sent.index(min(sent))
            sender = sender_of[subject]
        else:
            sender = sender_of[report["source"]]
        sent[sender] += 1
        group_of_event[report["event_id"]] = sender
        out[sender].setdefault(report["source"], []).append(report)
    return [streams for streams in out if streams]


def _subject(report: Mapping[str, Any]) -> str:
    payload = report["payload"]
    return str(payload.get("project_code") or payload.get("leader_id") or payload.get("unit") or "")
