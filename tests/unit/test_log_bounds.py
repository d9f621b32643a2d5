"""A log line is bounded whatever a sender put in a report: a megabyte message, field or
exception is clipped (head and tail kept), and a lone surrogate is escaped, not a failed write."""

from __future__ import annotations

import json
import logging
import sys

import pytest

from services.kernel.process.logs import (
    FIELD_CHARS,
    TRACEBACK_CHARS,
    JsonFormatter,
    PlainFormatter,
)

HUGE = "长" * 1_000_000
LINE_LIMIT = 3 * FIELD_CHARS + TRACEBACK_CHARS + 1_000


def hostile_record() -> logging.LogRecord:
    try:
        raise ValueError(f"bad value {HUGE}")
    except ValueError:
        exc_info = sys.exc_info()
    record = logging.LogRecord(
        "services.registry", logging.ERROR, __file__, 1, "report %s: %s", ("e1", HUGE), exc_info
    )
    record.event_id = "e1\ud800"
    record.errors = [{"field": "payload.name", "value": HUGE}]
    return record


def test_a_json_line_of_a_hostile_report_is_bounded_and_still_json():
    line = JsonFormatter().format(hostile_record())

    assert len(line) < LINE_LIMIT
    parsed = json.loads(line)
    assert parsed["message"].startswith("report e1: 长") and "characters cut" in parsed["message"]
    assert parsed["event_id"] == "e1\ud800"  # escaped in the line, which UTF-8 can write
    assert "characters cut" in parsed["errors"] and "characters cut" in parsed["exception"]
    line.encode("utf-8")


def test_a_short_json_line_is_written_as_it_was():
    record = logging.LogRecord("gateway", logging.INFO, __file__, 1, "ok %s", ("e2",), None)
    record.errors = [{"field": "payload.name", "value": "长江"}]

    parsed = json.loads(JsonFormatter().format(record))

    assert (parsed["message"], parsed["errors"]) == ("ok e2", record.errors)


@pytest.mark.parametrize("formatter", [PlainFormatter(), JsonFormatter()])
def test_every_format_bounds_the_line(formatter):
    line = formatter.format(hostile_record())

    assert len(line) < LINE_LIMIT
    line.encode("utf-8")


def test_a_field_json_cannot_write_is_named_by_its_type_not_an_error():
    record = logging.LogRecord("gateway", logging.INFO, __file__, 1, "ok", (), None)
    nested: list = []
    nested.append(nested)
    record.errors = nested

    assert json.loads(JsonFormatter().format(record))["errors"] == "<list>"
