"""deploy/ validated offline: the Kustomize overlays render, every object is valid against the
Kubernetes schemas (kubernetes-validate) or its operator's CRD schema (deploy/schemas), checkov
finds nothing that deploy/checkov.yaml does not explain, hadolint passes the Dockerfile, and the
compose file runs every service against RabbitMQ and PostgreSQL, published on loopback only.
Least privilege and TLS: tests/unit/test_deploy_security.py."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from deploy.render import BUILT_IN_GROUPS, KustomizeError, render
from services.kernel.bus.queues import consumer_queue
from tests.deploy_manifests import (
    DEPLOY,
    OVERLAYS,
    ROOT,
    SERVICES,
    STORES,
    container,
    crd_errors,
    crd_schemas,
    objects,
    rendered,
)

AUTOSCALED = {"gateway", "registry", "tracking"}
CONSUMED = [
    ("registry", "tracking"),
    ("scoring", "registry"),
    ("scoring", "tracking"),
    ("notify", "scoring"),
    ("notify", "tracking"),
]
KUBERNETES_VERSION = "1.33.0"
CHECKOV = ROOT / ".venv" / "checkov" / "bin" / "checkov"


# --- what operators rely on ---------------------------------------------------------------------


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_service_runs_the_one_image_with_probes_limits_and_a_restricted_context(overlay):
    deployments = objects(overlay, "Deployment")
    assert set(deployments) == set(SERVICES)
    for name, deployment in deployments.items():
        pod = deployment["spec"]["template"]["spec"]
        main = container(deployment)
        assert main["args"] == [name]
        assert main["image"].split("/")[-1].startswith("zhaoshang:")
        assert {"cpu", "memory"} <= main["resources"]["requests"].keys()
        assert {"cpu", "memory"} <= main["resources"]["limits"].keys()
        assert main["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert "livenessProbe" in main
        security = main["securityContext"]
        assert security["runAsNonRoot"] and security["readOnlyRootFilesystem"]
        assert security["allowPrivilegeEscalation"] is False
        assert security["capabilities"]["drop"] == ["ALL"]
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
        assert pod["automountServiceAccountToken"] is False
        mounts = {m["mountPath"] for m in main["volumeMounts"]}
        assert {"/tmp", "/app/var"} <= mounts  # the only writable places


def test_production_runs_replicated_engines_and_scales_the_stateless_services():
    (rabbit,) = objects("prod", "RabbitmqCluster").values()
    (postgres,) = objects("prod", "Cluster").values()
    assert rabbit["spec"]["replicas"] == 3
    for consumer, upstream in CONSUMED:  # the services declare their queues quorum themselves
        assert consumer_queue(consumer, upstream).queue_arguments["x-queue-type"] == "quorum"
    assert postgres["spec"]["instances"] == 3
    schemas = postgres["spec"]["bootstrap"]["initdb"]["postInitApplicationSQL"]
    assert all(any(f"SCHEMA IF NOT EXISTS {s} " in sql for sql in schemas) for s in STORES)
    assert set(objects("prod", "HorizontalPodAutoscaler")) == AUTOSCALED
    assert set(objects("prod", "PodDisruptionBudget")) == {*SERVICES, "rabbitmq"}
    # scoring and notify: an active consumer and a hot standby, replaced one at a time; notify
    # keeps nothing on a volume (its store is the record), so either pod may go anywhere.
    for name in ("scoring", "notify"):
        deployment = objects("prod", "Deployment")[name]
        assert deployment["spec"]["replicas"] == 2
        rolling = deployment["spec"]["strategy"]["rollingUpdate"]
        assert rolling == {"maxSurge": 1, "maxUnavailable": 0}
        volumes = deployment["spec"]["template"]["spec"]["volumes"]
        assert all("persistentVolumeClaim" not in volume for volume in volumes)
    assert not objects("prod", "PersistentVolumeClaim")


def test_the_gateway_alone_accepts_connections_and_everyone_reaches_only_the_engines():
    (service,) = objects("prod", "Service").values()
    assert service["metadata"]["name"] == "gateway"
    (port,) = service["spec"]["ports"]
    assert (port["port"], port["targetPort"], port["appProtocol"]) == (50051, "grpc", "grpc")
    policies = objects("prod", "NetworkPolicy")
    deny = policies["zhaoshang-default-deny"]["spec"]
    assert deny["policyTypes"] == ["Ingress", "Egress"] and "ingress" not in deny

    def egress_ports(*names: str) -> set:
        rules = (r for name in names for r in policies[name]["spec"].get("egress", []))
        return {port["port"] for rule in rules for port in rule["ports"]}

    engines = ("rabbitmq-ingress", "postgres-ingress")  # test_deploy_security.py checks these
    ours = {name: policy for name, policy in policies.items() if name not in engines}
    everyone = [name for name in ours if name != "notify-egress-delivery"]
    assert egress_ports(*everyone) == {5671, 5432, 53}  # AMQP over TLS only
    delivery = policies["notify-egress-delivery"]["spec"]
    assert delivery["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "notify"}
    assert egress_ports("notify-egress-delivery") == {25, 465, 587, 443}  # SMTP and webhooks
    ingress_ports = {
        port["port"]
        for policy in ours.values()
        for rule in policy["spec"].get("ingress", [])
        for port in rule["ports"]
    }
    assert ingress_ports == {"grpc", "metrics"}
    grpc_rule = policies["gateway-ingress-grpc"]["spec"]
    assert grpc_rule["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "gateway"}


# --- validation against the schemas -------------------------------------------------------------


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_rendered_object_is_valid_against_its_schema(overlay):
    for obj in rendered(overlay):
        if obj["apiVersion"] not in BUILT_IN_GROUPS:  # an operator's kind: it needs a schema here
            assert (obj["apiVersion"], obj["kind"]) in crd_schemas(), obj["kind"]
            assert crd_errors(obj) == [], (obj["kind"], obj["metadata"]["name"])
        else:  # strict: a field Kubernetes does not know fails too
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)


def test_a_misspelt_field_fails_validation():
    deployment = json.loads(json.dumps(objects("prod", "Deployment")["registry"]))
    container(deployment)["readinesProbe"] = container(deployment).pop("readinessProbe")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)
    (rabbit,) = json.loads(json.dumps(list(objects("prod", "RabbitmqCluster").values())))
    rabbit["spec"]["replica"] = rabbit["spec"].pop("replicas")
    assert crd_errors(rabbit)


def test_the_renderer_refuses_what_it_does_not_implement(tmp_path):
    (tmp_path / "kustomization.yaml").write_text("resources: []\nnamePrefix: x-\n")
    with pytest.raises(KustomizeError, match="namePrefix"):
        render(tmp_path)


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="no kubectl on this machine")
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_renderer_agrees_with_kubectl_kustomize(overlay):
    result = subprocess.run(
        ["kubectl", "kustomize", str(DEPLOY / "k8s" / "overlays" / overlay)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if result.returncode != 0 and "unknown command" in result.stderr:
        pytest.skip("this kubectl has no kustomize")
    assert result.returncode == 0, result.stderr
    theirs = [o for o in yaml.safe_load_all(result.stdout) if o]

    def by_identity(items):
        return {(o["kind"], o["metadata"]["name"]): o for o in items}

    assert by_identity(rendered(overlay)) == by_identity(theirs)


# --- static security checks ---------------------------------------------------------------------


def checkov_skips(framework: str, overlay: str = "all") -> list[str]:
    reasons = yaml.safe_load((DEPLOY / "checkov.yaml").read_text(encoding="utf-8"))[framework]
    skipped = {**reasons.get("all", {}), **reasons.get(overlay, {})}
    assert all(len(reason) > 40 for reason in skipped.values()), "every skip says why"
    return sorted(skipped)


def checkov() -> Path:
    """checkov lives in a venv of its own (it pins packaging<24, older than pytest allows),
    which `make install` creates from deploy/checkov-requirements.txt."""
    assert CHECKOV.exists(), f"{CHECKOV} is missing: run `make install`"
    return CHECKOV


def run_checkov(framework: str, target: list[str], skips: list[str]) -> dict:
    result = subprocess.run(
        [
            str(checkov()),
            *target,
            "--framework",
            framework,
            "--skip-check",
            ",".join(skips),
            "--skip-download",  # offline: no guideline links from the vendor's API
            "--output",
            "json",
            "--quiet",
        ],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=ROOT,
    )
    assert result.returncode in (0, 1), result.stderr
    report = json.loads(result.stdout or "{}")
    return report[0] if isinstance(report, list) else report


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_checkov_finds_nothing_unexplained_in_the_manifests(overlay, tmp_path):
    manifest = tmp_path / f"{overlay}.yaml"
    manifest.write_text(yaml.safe_dump_all(rendered(overlay), sort_keys=False), encoding="utf-8")
    skips = checkov_skips("kubernetes", overlay)
    report = run_checkov("kubernetes", ["--file", str(manifest)], skips)
    failed = report.get("results", {}).get("failed_checks", [])
    assert [(f["check_id"], f["resource"]) for f in failed] == []
    assert report["summary"]["passed"] > 100


def test_checkov_and_hadolint_pass_the_dockerfile():
    report = run_checkov("dockerfile", ["--file", "deploy/Dockerfile"], checkov_skips("dockerfile"))
    assert report.get("results", {}).get("failed_checks", []) == []
    hadolint = Path(sys.executable).parent / "hadolint"
    result = subprocess.run(
        [str(hadolint), str(DEPLOY / "Dockerfile")], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


# --- the image and compose ----------------------------------------------------------------------


def test_the_image_command_selects_the_service():
    launcher = (DEPLOY / "zhaoshang-service").read_text(encoding="utf-8")
    for service in SERVICES:
        assert service in launcher
    result = subprocess.run(
        ["sh", str(DEPLOY / "zhaoshang-service"), "billing"], capture_output=True, text=True
    )
    assert result.returncode == 64 and "usage" in result.stderr


def test_compose_runs_every_service_against_rabbitmq_and_postgres():
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text(encoding="utf-8"))
    services = compose["services"]
    assert set(services) == {*SERVICES, "rabbitmq", "postgres", "tls"}
    ports = set()
    for name in SERVICES:
        service = services[name]
        assert service["command"] == [name]
        assert service["build"]["dockerfile"] == "deploy/Dockerfile"
        env = service["environment"]
        assert env["AMQP_URI"].startswith("amqp://") and "@rabbitmq:5672/" in env["AMQP_URI"]
        assert env["PERSISTENCE_MODULE"] == "eventsourcing.postgres"
        assert env["POSTGRES_HOST"] == "postgres"
        ports.add(env["METRICS_PORT"])
        assert "healthcheck" in service and service["read_only"] is True
        assert service["depends_on"]["rabbitmq"]["condition"] == "service_healthy"
    assert len(ports) == len(SERVICES)


def test_compose_publishes_on_loopback_only_and_the_gateway_serves_tls():
    services = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text(encoding="utf-8"))[
        "services"
    ]
    published = [port for service in services.values() for port in service.get("ports", [])]
    assert published and all(port.startswith("127.0.0.1:") for port in published)
    gateway = services["gateway"]
    assert gateway["depends_on"]["tls"]["condition"] == "service_completed_successfully"
    (mount,) = gateway["volumes"]
    volume, directory, mode = mount.split(":")
    assert (volume, mode) == ("tls", "ro") and f"{volume}:/tls" in services["tls"]["volumes"]
    for variable in ("GATEWAY_TLS_CERT", "GATEWAY_TLS_KEY"):
        assert gateway["environment"][variable].startswith(directory + "/dev-server")
    assert "ensure_dev_tls(Path('/tls'))" in " ".join(services["tls"]["command"])
