"""A report that fails unexpectedly leaves nothing on SQLite and PostgreSQL: the reports around it
are stored, the aggregate it changed before failing is saved without its change, and the hash
chain of the store verifies (services/kernel/ingest/reports.py, `Batch.roll_back`)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from services.kernel.contract import ids
from services.kernel.store.audit import verify_log
from services.kernel.store.environment import store_env as service_store_env
from services.registry.application import RegistryApplication
from tests.unit.test_report_intake_failures import (
    CHIP_PLANT,
    Bug,
    proposal,
    registry_with,
    signing,
    statuses,
    tracking_start,
)


@pytest.fixture
def registry_env(store_env, tmp_path) -> dict[str, str]:
    return service_store_env("registry", {**store_env, "ZHAOSHANG_VAR": str(tmp_path / "var")})


@pytest.fixture
def registry(registry_env) -> Iterator[RegistryApplication]:
    app = RegistryApplication(registry_env)
    yield app
    app.close()


def test_a_failed_report_is_not_stored_and_the_chain_verifies(registry, caplog):
    propose, sign, start = proposal(), signing(), tracking_start()
    registry_with(Bug(sign.event_id, RuntimeError("a bug"), times=1), registry)
    registry.ingest([propose])  # stored, and kept in the intake's cache

    with caplog.at_level(logging.ERROR):
        outcomes = registry.ingest([sign, start])
    resent = registry.ingest([sign])

    assert statuses(outcomes) == [("rejected", "internal_error"), ("accepted", None)]
    assert statuses(resent) == [("accepted", None)]
    stored = [type(e).__name__ for e in registry.events.get(ids.project_id(CHIP_PLANT))]
    assert stored == ["Proposed", "TrackingStarted", "Signed"]
    assert verify_log(registry, "registry")["findings"] == []


def test_another_process_reads_only_what_the_good_reports_changed(registry, registry_env, caplog):
    propose, sign, start = proposal(), signing(), tracking_start()
    registry_with(Bug(sign.event_id, RuntimeError("a bug")), registry)

    with caplog.at_level(logging.ERROR):
        registry.ingest([propose, sign, start])
    other = RegistryApplication(registry_env)

    project = other.get_project(CHIP_PLANT)
    other.close()
    assert project is not None
    assert (project["lists"], project["contract_investment"]) == (["tracking"], None)
