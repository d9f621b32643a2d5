"""The console's manifests (deploy/k8s/overlays/console): prod and the console beside it, valid
against the schemas, run restricted with probes and limits, reached only through a TLS Ingress,
reaching only the gateway and DNS."""

from __future__ import annotations

from functools import cache

import kubernetes_validate
import yaml

from deploy.render import BUILT_IN_GROUPS, render
from tests.deploy_manifests import DEPLOY, container, crd_errors, crd_schemas, pod, rendered
from tests.unit.test_deploy_security import restricted_violations

KUBERNETES_VERSION = "1.33.0"
OVERLAY = DEPLOY / "k8s" / "overlays" / "console"


@cache
def objects_of(kind: str) -> dict[str, dict]:
    return {o["metadata"]["name"]: o for o in render(OVERLAY) if o["kind"] == kind}


def test_the_console_overlay_is_prod_with_the_console_and_every_object_is_valid():
    with_console = {(o["kind"], o["metadata"]["name"]) for o in render(OVERLAY)}
    prod = {(o["kind"], o["metadata"]["name"]) for o in rendered("prod")}
    assert with_console - prod == {
        ("Deployment", "console"),
        ("Service", "console"),
        ("Ingress", "console"),
        ("PersistentVolumeClaim", "console-data"),
        ("Certificate", "console-tls"),
        ("NetworkPolicy", "console-ingress-http"),
        ("NetworkPolicy", "console-egress-gateway"),
    }
    assert prod <= with_console
    for obj in render(OVERLAY):
        if obj["apiVersion"] not in BUILT_IN_GROUPS:
            assert crd_errors(obj) == [], (obj["kind"], obj["metadata"]["name"])
            assert (obj["apiVersion"], obj["kind"]) in crd_schemas()
        else:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)


def test_the_console_runs_restricted_with_probes_limits_and_its_own_secret():
    deployment = objects_of("Deployment")["console"]
    main = container(deployment)
    assert main["args"] == ["console"] and restricted_violations(pod(deployment)) == []
    assert main["securityContext"]["readOnlyRootFilesystem"] is True
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert main[probe]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert {"cpu", "memory"} <= main["resources"]["limits"].keys()
    env = {e["name"]: e for e in main["env"]}
    assert env["CONSOLE_API_KEY"]["valueFrom"]["secretKeyRef"]["name"] == "console-delegate"
    assert env["CONSOLE_BEHIND_TLS"]["value"] == "1" and env["CONSOLE_REQUIRE_TOTP"]["value"] == "1"
    assert deployment["spec"]["strategy"]["type"] == "Recreate"  # one writer of its store


def test_the_console_is_reached_through_tls_and_reaches_only_the_gateway():
    ingress = objects_of("Ingress")["console"]["spec"]
    (tls,) = ingress["tls"]
    assert tls["secretName"] == objects_of("Certificate")["console-tls"]["spec"]["secretName"]
    assert tls["hosts"] == objects_of("Certificate")["console-tls"]["spec"]["dnsNames"]
    egress = objects_of("NetworkPolicy")["console-egress-gateway"]["spec"]["egress"]
    assert [(p["port"]) for rule in egress for p in rule["ports"]] == [50051]
    ingress_rule = objects_of("NetworkPolicy")["console-ingress-http"]["spec"]["ingress"]
    assert [p["port"] for rule in ingress_rule for p in rule["ports"]] == ["http"]


def test_the_image_runs_the_console():
    script = (DEPLOY / "zhaoshang-service").read_text()
    assert "console)\n    exec python -m services.console.server" in script
    assert yaml.safe_load((OVERLAY / "kustomization.yaml").read_text())["resources"][0] == "../prod"
