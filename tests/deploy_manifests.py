"""The rendered Kustomize overlays (deploy/render.py), as tests/unit/test_deploy*.py read them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import jsonschema

from deploy.render import render

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
OVERLAYS = ("dev", "prod")
SERVICES = ("registry", "tracking", "scoring", "notify", "gateway")
STORES = SERVICES[:4]  # the services that keep events in PostgreSQL


@cache
def rendered(overlay: str) -> tuple[dict, ...]:
    return tuple(render(DEPLOY / "k8s" / "overlays" / overlay))


def objects(overlay: str, kind: str) -> dict[str, dict]:
    return {o["metadata"]["name"]: o for o in rendered(overlay) if o["kind"] == kind}


def pod(deployment: dict) -> dict:
    return deployment["spec"]["template"]["spec"]


def container(deployment: dict) -> dict:
    (only,) = pod(deployment)["containers"]
    return only


def env(deployment: dict) -> dict[str, dict]:
    return {e["name"]: e for e in container(deployment).get("env", [])}


def secret_refs(deployment: dict) -> set[tuple[str, str]]:
    """(Secret, key) of every variable the container takes from a Secret."""
    return {
        (e["valueFrom"]["secretKeyRef"]["name"], e["valueFrom"]["secretKeyRef"]["key"])
        for e in env(deployment).values()
        if "secretKeyRef" in e.get("valueFrom", {})
    }


def secrets_used(deployment: dict) -> set[str]:
    """Every Secret the pod reads: variables, envFrom, volumes (projected ones too)."""
    used = {name for name, _ in secret_refs(deployment)}
    sources = container(deployment).get("envFrom", [])
    used |= {source["secretRef"]["name"] for source in sources if "secretRef" in source}
    for volume in pod(deployment).get("volumes", []):
        used |= {name for name, _ in volume_secret_files(volume)}
    return used


def secret_sources(volume: dict) -> list[dict]:
    """The Secrets a secret or projected volume shows: each `{name, items?}`."""
    if "secret" in volume:
        return [{**volume["secret"], "name": volume["secret"]["secretName"]}]
    sources = volume.get("projected", {}).get("sources", [])
    return [source["secret"] for source in sources if "secret" in source]


def volume_secret_files(volume: dict) -> Iterator[tuple[str, str]]:
    """(Secret, key) of each file a volume shows; key "*" when it shows them all."""
    for secret in secret_sources(volume):
        for item in secret.get("items", [{"key": "*"}]):
            yield secret["name"], item["key"]


def mounted_file(deployment: dict, path: str) -> tuple[str, str] | None:
    """The (Secret, key) the file at `path` in the container shows, if a Secret's."""
    volumes = {v["name"]: v for v in pod(deployment).get("volumes", [])}
    for mount in container(deployment).get("volumeMounts", []):
        directory = mount["mountPath"].rstrip("/") + "/"
        for secret in secret_sources(volumes[mount["name"]]):
            for item in secret.get("items", []):
                if path == directory + item["path"]:
                    return secret["name"], item["key"]
    return None


@cache
def crd_schemas() -> dict[tuple[str, str], dict]:
    schemas = {}
    for path in (DEPLOY / "schemas").glob("*.json"):
        schema = json.loads(path.read_text(encoding="utf-8"))
        jsonschema.Draft202012Validator.check_schema(schema)
        key = (schema["properties"]["apiVersion"]["const"], schema["properties"]["kind"]["const"])
        schemas[key] = schema
    return schemas


def crd_errors(obj: dict) -> list[str]:
    schema = crd_schemas()[(obj["apiVersion"], obj["kind"])]
    return [e.message for e in jsonschema.Draft202012Validator(schema).iter_errors(obj)]
