"""Signed tree heads as they are published outside the system: in each circular (通报), in the
notices sent with it, in a heads file an auditor saves (README "How an auditor verifies").

A set of heads (every store's, and the ranking hash they were made for) travels as one line of
text, which is also the QR code's content:

    ZSHEADS1:<base64url of JSON {"v": 1, "ranking": "<hash>", "heads": [[store, size, root,
                                  time, key_id, signature], ...]}>

`find_published` finds that line in any text (a circular's Markdown, HTML or the XML of its
.docx, a notice, a heads file) and gives the heads back as dicts.
"""

from __future__ import annotations

import base64
import json
import re

MARK = "ZSHEADS1:"
_FOUND = re.compile(re.escape(MARK) + r"([A-Za-z0-9_\-]+={0,2})")
FIELDS = ("store", "size", "root", "time", "key_id", "signature")


def encode(heads: list[dict], ranking_hash: str = "") -> str:
    body = {"v": 1, "ranking": ranking_hash, "heads": [[h[f] for f in FIELDS] for h in heads]}
    packed = json.dumps(body, separators=(",", ":"), ensure_ascii=True).encode()
    return MARK + base64.urlsafe_b64encode(packed).decode("ascii")


def decode(line: str) -> tuple[list[dict], str]:
    """(heads, ranking hash) from one `ZSHEADS1:` line; ValueError if it is not one."""
    found = _FOUND.search(line)
    if found is None:
        raise ValueError("no ZSHEADS1: line")
    body = json.loads(base64.urlsafe_b64decode(found.group(1)))
    if body.get("v") != 1:
        raise ValueError(f"heads of version {body.get('v')!r}, not 1")
    heads = [dict(zip(FIELDS, row, strict=True)) for row in body["heads"]]
    return heads, str(body.get("ranking", ""))


def find_published(text: str) -> tuple[list[dict], str] | None:
    """The heads published in `text`, if any (the last such line: a circular has one)."""
    lines = _FOUND.findall(text)
    return decode(MARK + lines[-1]) if lines else None


def lines_zh(heads: list[dict]) -> list[str]:
    """The heads for a person to read, one line each."""
    return [
        f"{h['store']}：前 {h['size']} 条事件，根哈希 {h['root']}，签于 {h['time']}，"
        f"密钥 {h['key_id'][:16]}"
        for h in heads
    ]
