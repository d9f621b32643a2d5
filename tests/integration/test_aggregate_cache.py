"""The aggregates a service keeps between batches (services/kernel/ingest/reports.py AggregateCache)
never make it decide on an old state: two replicas write the same project in turn, on SQLite
and on PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date

import pytest
from eventsourcing.persistence import IntegrityError

from services.kernel.contract import ids
from services.kernel.contract.report import validate_report
from services.kernel.ingest.reports import Batch
from services.kernel.store.audit import verify_log
from services.kernel.store.environment import store_env as service_store_env
from services.registry.application import RegistryApplication
from tools.demo import generate_demo

CODE = "CACHE-1"
PROJECT = ids.project_id(CODE)


def report(kind: str, payload: dict) -> dict:
    template = next(r for r in generate_demo("2020Q3") if r["type"] == "project.proposed")
    return {**template, "event_id": str(uuid.uuid4()), "type": kind, "payload": payload}


def proposed() -> dict:
    template = next(r for r in generate_demo("2020Q3") if r["type"] == "project.proposed")
    return report("project.proposed", {**template["payload"], "project_code": CODE})


def signed(contract: str) -> dict:
    return report("project.signed", {"project_code": CODE, "contract_investment": contract})


def ingest(app: RegistryApplication, raw: dict) -> dict:
    (outcome,) = app.ingest([validate_report(raw)])
    return outcome


@pytest.fixture
def replicas(store_env, tmp_path) -> Iterator[tuple[RegistryApplication, RegistryApplication]]:
    env = service_store_env("registry", {**store_env, "ZHAOSHANG_VAR": str(tmp_path / "var")})
    first, second = RegistryApplication(env), RegistryApplication(env)
    yield first, second
    first.close()
    second.close()


def test_a_kept_project_is_brought_up_to_date_with_another_replicas_events(replicas):
    first, second = replicas
    assert ingest(first, proposed())["status"] == "accepted"
    tracked = ingest(first, report("project.tracking_started", {"project_code": CODE}))
    assert tracked["status"] == "accepted"
    assert len(first.reports.aggregates) == 1  # the project, kept at version 2 (receipts are not)

    assert ingest(second, signed("3"))["status"] == "accepted"  # version 3, elsewhere

    batch = Batch(first, first.reports.aggregates)
    batch.preload([PROJECT])
    project = batch.get(PROJECT)
    assert project.version == 3
    assert project.contract_investment == 3


def test_a_replica_decides_on_what_another_stored_since_it_kept_the_project(replicas):
    first, second = replicas
    ingest(first, proposed())
    ingest(first, report("project.tracking_started", {"project_code": CODE}))
    ingest(second, signed("3"))

    # The same contract again is no increase: refused on the stored state (3), not on the
    # kept one (nothing signed yet).
    repeated = ingest(first, signed("3"))
    increased = ingest(first, signed("5"))

    assert repeated["status"] == "rejected", repeated
    assert increased["status"] == "accepted", increased
    stored = [e.increase for e in first.events.get(PROJECT) if hasattr(e, "increase")]
    assert stored == [3, 2]
    assert verify_log(first, "registry")["findings"] == []


def test_a_batch_whose_save_failed_puts_nothing_back(replicas):
    first, second = replicas
    ingest(first, proposed())
    ingest(first, report("project.tracking_started", {"project_code": CODE}))

    batch = Batch(first, first.reports.aggregates)
    batch.preload([PROJECT])
    project = batch.get(PROJECT)
    project.sign(event_id=str(uuid.uuid4()), source="x", occurred_on=date(2020, 8, 1), contract=3)
    ingest(second, signed("4"))  # meanwhile, on the other replica
    with pytest.raises(IntegrityError):
        first.save(*batch.changed())
    batch = Batch(first, first.reports.aggregates)
    batch.preload([PROJECT])

    assert batch.get(PROJECT).contract_investment == 4
