"""JSON logs, the same for every process.

`LOG_FORMAT=json` makes every line a JSON object; a line about an event carries its `event_id`
and `source` (pass `extra=about(report)`). nameko services name `JsonFormatter` in nameko.yaml;
the gateway calls `configure_logging`.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

# Fields a log line about an event carries, when given in `extra`.
EVENT_FIELDS = ("event_id", "source", "type", "status", "upstream", "errors")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and the event it is about."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in EVENT_FIELDS:
            if (value := getattr(record, name, None)) is not None:
                line[name] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


PLAIN_FORMAT = "%(asctime)s %(name)s %(levelname)s %(message)s"


def configure_logging(environ: Mapping[str, str] = os.environ) -> None:
    """Root logging for a process without nameko's LOGGING config (the gateway):
    `LOG_FORMAT=json|plain`, `LOG_LEVEL`."""
    handler = logging.StreamHandler()
    json_lines = environ.get("LOG_FORMAT", "plain") == "json"
    handler.setFormatter(JsonFormatter() if json_lines else logging.Formatter(PLAIN_FORMAT))
    logging.basicConfig(level=environ.get("LOG_LEVEL", "INFO"), handlers=[handler], force=True)


def about(report: Mapping[str, Any] | None, **more: Any) -> dict[str, Any]:
    """`extra=` for a log line about a report: its event_id, source and type."""
    report = report or {}
    fields = {name: report.get(name) for name in ("event_id", "source", "type")}
    return {**{k: str(v) for k, v in fields.items() if v is not None}, **more}
