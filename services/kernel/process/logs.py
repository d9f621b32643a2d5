"""JSON logs, the same for every process.

`LOG_FORMAT=json` makes every line a JSON object; a line about an event carries its `event_id`
and `source` (pass `extra=about(report)`). nameko services name `JsonFormatter` and
`PlainFormatter` in nameko.yaml; the gateway calls `configure_logging`.

A line is bounded whatever a sender put in a report: a message or a field longer than
FIELD_CHARS keeps its head and tail, a traceback TRACEBACK_CHARS, and text that cannot be written
as UTF-8 (a lone surrogate) is escaped.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

# Fields a log line about an event (or a gateway call: method, credential, unit, operator)
# carries, when given in `extra`.
EVENT_FIELDS = (
    "event_id", "source", "type", "status", "upstream", "errors",
    "method", "credential", "unit", "operator",
)  # fmt: skip
FIELD_CHARS = 2_000
TRACEBACK_CHARS = 8_000


def clipped(text: str, limit: int = FIELD_CHARS) -> str:
    """`text`, or its head and tail with how much was cut between them."""
    if len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]}…[{len(text) - 2 * half} characters cut]…{text[-half:]}"


def writable(line: str) -> str:
    """The line with what UTF-8 cannot encode (lone surrogates) escaped as \\udXXX."""
    return line.encode("utf-8", "backslashreplace").decode("utf-8")


def _bounded(value: Any) -> Any:
    """A field's value as logged: text clipped, anything else kept unless its JSON is too long."""
    if isinstance(value, str):
        return clipped(value)
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except (ValueError, RecursionError):  # an integer of thousands of digits, a cycle, depth
        return f"<{type(value).__name__}>"
    return value if len(text) <= FIELD_CHARS else clipped(text)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and the event it is about."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": clipped(record.getMessage()),
        }
        for name in EVENT_FIELDS:
            if (value := getattr(record, name, None)) is not None:
                line[name] = _bounded(value)
        if record.exc_info:
            line["exception"] = clipped(self.formatException(record.exc_info), TRACEBACK_CHARS)
        return writable(json.dumps(line, ensure_ascii=False, default=str))


PLAIN_FORMAT = "%(asctime)s %(name)s %(levelname)s %(message)s"


class PlainFormatter(logging.Formatter):
    """PLAIN_FORMAT, its message clipped like a JSON line's and its traceback likewise."""

    def __init__(self) -> None:
        super().__init__(PLAIN_FORMAT)

    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = clipped(record.message)  # set by format() from getMessage() each time
        return writable(super().formatMessage(record))

    def formatException(self, ei: Any) -> str:
        return writable(clipped(super().formatException(ei), TRACEBACK_CHARS))


def configure_logging(environ: Mapping[str, str] = os.environ) -> None:
    """Root logging for a process without nameko's LOGGING config (the gateway):
    `LOG_FORMAT=json|plain`, `LOG_LEVEL`."""
    handler = logging.StreamHandler()
    json_lines = environ.get("LOG_FORMAT", "plain") == "json"
    handler.setFormatter(JsonFormatter() if json_lines else PlainFormatter())
    logging.basicConfig(level=environ.get("LOG_LEVEL", "INFO"), handlers=[handler], force=True)


def about(report: Mapping[str, Any] | None, **more: Any) -> dict[str, Any]:
    """`extra=` for a log line about a report: its event_id, source and type."""
    report = report or {}
    fields = {name: report.get(name) for name in ("event_id", "source", "type")}
    return {**{k: str(v) for k, v in fields.items() if v is not None}, **more}
