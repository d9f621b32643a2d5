"""Every RPC the gateway and the other services call is an entrypoint of the service that owns
it, including those the services share (services/kernel/process/entrypoints.py), and every
upstream a service follows has a consumer and a catch-up."""

from __future__ import annotations

import pytest
from nameko.cli.run import import_service
from nameko.containers import ServiceContainer

from services.notify.service import NotifyService
from services.registry.service import RegistryService
from services.scoring.service import ScoringService
from services.tracking.service import TrackingService

CONFIG = {"AMQP_URI": "amqp://guest:guest@localhost:5672/"}  # nothing connects: not started


def entrypoints(service_cls: type) -> dict[str, str]:
    container = ServiceContainer(service_cls, CONFIG)
    return {e.method_name: type(e).__name__ for e in container.entrypoints}


# What services/gateway calls (rpc.call(service, method)) and what consumers pull (read_wire).
CALLED = {
    RegistryService: {
        "ingest", "get_project", "list_projects", "five_ones_gaps", "refusals",
        "record_refusals", "history", "read_wire", "verify", "states",
    },
    TrackingService: {
        "ingest", "milestones", "leader_progress", "promotion_events", "task_status",
        "matter_status", "refusals", "history", "read_wire", "verify",
    },
    ScoringService: {
        "ingest", "get_ranking", "get_scorecard", "publish_ranking", "rebuild_ranking",
        "read_wire", "verify",
    },
    NotifyService: {"circular_files", "deliveries", "failures"},
}  # fmt: skip

FOLLOWED = {
    RegistryService: ["tracking"],
    TrackingService: ["registry"],  # its view of registry (services/tracking/registry_view.py)
    ScoringService: ["registry", "tracking"],
    NotifyService: ["scoring", "tracking"],
}


@pytest.mark.parametrize("service_cls", list(CALLED), ids=lambda cls: cls.name)
def test_every_called_rpc_is_an_entrypoint_of_its_service(service_cls):
    found = entrypoints(service_cls)
    assert {name for name in CALLED[service_cls] if found.get(name) != "Rpc"} == set()


@pytest.mark.parametrize("service_cls", list(FOLLOWED), ids=lambda cls: cls.name)
def test_each_followed_upstream_has_a_consumer_and_a_catch_up(service_cls):
    found = entrypoints(service_cls)
    for upstream in FOLLOWED[service_cls]:
        assert found[f"on_{upstream}"] == "UpstreamConsumer"
    assert found["catch_up"] == "Timer"


@pytest.mark.parametrize("service_cls", list(CALLED), ids=lambda cls: cls.name)
def test_nameko_run_finds_one_service_in_each_service_module(service_cls):
    # `nameko run services.<name>.service` (make run, the container image) runs every class
    # with entrypoints it finds in the module: a shared base imported by name would be one more.
    assert import_service(service_cls.__module__) == [service_cls]
