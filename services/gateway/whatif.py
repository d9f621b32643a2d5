"""Query.TryPolicy's argument: the changes to try, as a bounded JSON object."""

from __future__ import annotations

import json
from typing import Any

from services.gateway.errors import InvalidRequest

MAX_CHANGES_BYTES = 64 * 1024


def whatif_changes(text: str) -> dict[str, Any]:
    """The changes (services/scoring/whatif.py) or InvalidRequest naming the rule."""
    if len(text.encode()) > MAX_CHANGES_BYTES:
        raise InvalidRequest(
            "changes_json",
            f"{len(text.encode())} bytes",
            "changes_size",
            f"changes_json 不能超过 {MAX_CHANGES_BYTES} 字节（规则 changes_size）",
            f"changes_json may be at most {MAX_CHANGES_BYTES} bytes (rule changes_size)",
        )
    try:
        changes = json.loads(text or "{}")
    except ValueError:
        changes = None
    if not isinstance(changes, dict):
        raise InvalidRequest(
            "changes_json",
            text[:80],
            "changes_object",
            "changes_json 应为 JSON 对象：weights、targets、tie_break 或 policy"
            "（规则 changes_object）",
            "changes_json must be a JSON object: weights, targets, tie_break or policy "
            "(rule changes_object)",
        )
    return changes
