"""Render a Kustomize directory offline: `python -m deploy.render deploy/k8s/overlays/prod`.

Neither kubectl nor kustomize can be installed from the registries this project builds from
(Debian's `kubernetes-client` is 1.20, whose kustomize v2.0 predates `patches`), so this is a
small renderer of exactly the subset of Kustomize that deploy/k8s uses, with Kustomize's
semantics:

- `resources`: YAML files and directories holding a kustomization (rendered first, recursively);
- `configMapGenerator` (`envs`, `literals`, `behavior: create|merge|replace`), only with
  `generatorOptions.disableNameSuffixHash: true`;
- `patches`: strategic-merge patches from `path` or inline `patch`, matched to the object of the
  same kind and name; lists with a Kubernetes merge key (containers, env, volumes, ...) merge by
  that key, other lists are replaced, `null` deletes a field;
- `images`: `newName`, `newTag`, `digest` on the containers of workloads;
- `namespace`: set on every namespaced object.

Anything else in a kustomization is refused rather than ignored, so a rendering never silently
differs from Kustomize's. Where kubectl is on the machine, tests/unit/test_deploy.py compares
this rendering with `kubectl kustomize`.
"""

from __future__ import annotations

import argparse
import copy
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
SUPPORTED = {
    "apiVersion",
    "kind",
    "resources",
    "configMapGenerator",
    "generatorOptions",
    "patches",
    "images",
    "namespace",
}
CLUSTER_SCOPED = {
    "Namespace",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "PersistentVolume",
    "StorageClass",
    "PriorityClass",
    "IngressClass",
    "RuntimeClass",
    "ValidatingWebhookConfiguration",
    "MutatingWebhookConfiguration",
    "ClusterIssuer",  # cert-manager
}
# Strategic-merge keys of the list fields we patch (from the Kubernetes API types).
MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "volumes": "name",
    "env": "name",
    "imagePullSecrets": "name",
    "ports": "containerPort",
    "volumeMounts": "mountPath",
    "topologySpreadConstraints": "topologyKey",
}
BUILT_IN_GROUPS = {
    "v1",
    "apps/v1",
    "batch/v1",
    "policy/v1",
    "autoscaling/v2",
    "networking.k8s.io/v1",
    "rbac.authorization.k8s.io/v1",
}

Object = dict[str, Any]


class KustomizeError(ValueError):
    """The kustomization uses something this renderer does not implement, or is wrong."""


def render(directory: Path) -> list[Object]:
    """The objects a `kubectl kustomize directory` would print, in resource order."""
    directory = Path(directory)
    kustomization = _load_kustomization(directory)
    unknown = set(kustomization) - SUPPORTED
    if unknown:
        raise KustomizeError(f"{directory}: not supported by deploy/render.py: {sorted(unknown)}")

    objects: list[Object] = []
    for entry in kustomization.get("resources", []):
        path = directory / entry
        objects.extend(render(path) if path.is_dir() else _load_documents(path))
    _generate_config_maps(directory, kustomization, objects)
    for patch in kustomization.get("patches", []):
        for document in _patch_documents(directory, patch):
            _apply_patch(objects, document)
    for image in kustomization.get("images", []):
        for obj in objects:
            _set_image(obj, image)
    if namespace := kustomization.get("namespace"):
        for obj in objects:
            if obj["kind"] not in CLUSTER_SCOPED:
                obj["metadata"]["namespace"] = namespace
    return objects


def _load_kustomization(directory: Path) -> dict:
    for name in KUSTOMIZATION_FILES:
        if (directory / name).is_file():
            return yaml.safe_load((directory / name).read_text(encoding="utf-8")) or {}
    raise KustomizeError(f"{directory}: no kustomization.yaml")


def _load_documents(path: Path) -> list[Object]:
    documents = yaml.safe_load_all(path.read_text(encoding="utf-8"))
    return [d for d in documents if d is not None]


# --- configMapGenerator ------------------------------------------------------------------------


def _generate_config_maps(directory: Path, kustomization: dict, objects: list[Object]) -> None:
    generators = kustomization.get("configMapGenerator", [])
    options = kustomization.get("generatorOptions", {})
    if generators and not options.get("disableNameSuffixHash"):
        raise KustomizeError(
            f"{directory}: configMapGenerator needs generatorOptions.disableNameSuffixHash: true "
            "(name hashes are not implemented)"
        )
    for generator in generators:
        name = generator["name"]
        data = _generated_data(directory, generator)
        behavior = generator.get("behavior", "create")
        existing = _find(objects, "ConfigMap", name)
        if behavior == "create":
            if existing is not None:
                raise KustomizeError(f"{directory}: ConfigMap {name} exists; use behavior: merge")
            objects.append(
                {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}
            )
        elif existing is None:
            raise KustomizeError(f"{directory}: behavior {behavior} needs a ConfigMap {name}")
        elif behavior == "merge":
            existing["data"] = {**existing.get("data", {}), **data}
        elif behavior == "replace":
            existing["data"] = data
        else:
            raise KustomizeError(f"{directory}: unknown configMapGenerator behavior {behavior!r}")


def _generated_data(directory: Path, generator: dict) -> dict[str, str]:
    unknown = set(generator) - {"name", "envs", "literals", "behavior"}
    if unknown:
        raise KustomizeError(f"{directory}: configMapGenerator fields not supported: {unknown}")
    data: dict[str, str] = {}
    for env_file in generator.get("envs", []):
        data.update(_pairs((directory / env_file).read_text(encoding="utf-8").splitlines()))
    data.update(_pairs(generator.get("literals", [])))
    return data


def _pairs(lines: Iterable[str]) -> dict[str, str]:
    pairs = {}
    for line in lines:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, separator, value = line.partition("=")
        if not separator:
            raise KustomizeError(f"not KEY=VALUE: {line!r}")
        pairs[key.strip()] = value
    return pairs


# --- patches -----------------------------------------------------------------------------------


def _patch_documents(directory: Path, patch: dict) -> list[Object]:
    unknown = set(patch) - {"path", "patch"}
    if unknown:
        raise KustomizeError(f"{directory}: patch fields not supported: {sorted(unknown)}")
    if "path" in patch:
        return _load_documents(directory / patch["path"])
    return [d for d in yaml.safe_load_all(patch["patch"]) if d is not None]


def _apply_patch(objects: list[Object], patch: Object) -> None:
    kind, name = patch.get("kind"), patch.get("metadata", {}).get("name")
    target = _find(objects, kind, name)
    if target is None:
        raise KustomizeError(f"patch for {kind}/{name}: no such object")
    built_in = target.get("apiVersion") in BUILT_IN_GROUPS
    merged = _merge(target, patch, built_in)
    target.clear()
    target.update(merged)


def _merge(base: Any, patch: Any, built_in: bool, field: str | None = None) -> Any:
    if isinstance(base, dict) and isinstance(patch, dict):
        if "$patch" in patch:
            raise KustomizeError("$patch directives are not supported")
        merged = dict(base)
        for key, value in patch.items():
            if value is None:
                merged.pop(key, None)
            elif key in merged:
                merged[key] = _merge(merged[key], value, built_in, key)
            else:
                merged[key] = copy.deepcopy(value)
        return merged
    merge_key = MERGE_KEYS.get(field or "") if built_in else None
    if isinstance(base, list) and isinstance(patch, list) and merge_key:
        merged_list = [copy.deepcopy(item) for item in base]
        for item in patch:
            match = next((m for m in merged_list if m.get(merge_key) == item.get(merge_key)), None)
            if match is None:
                merged_list.append(copy.deepcopy(item))
            else:
                merged_list[merged_list.index(match)] = _merge(match, item, built_in)
        return merged_list
    return copy.deepcopy(patch)


# --- images ------------------------------------------------------------------------------------


def _set_image(obj: Object, image: dict) -> None:
    spec = obj.get("spec", {})
    pod_specs = [spec, spec.get("template", {}).get("spec", {})]
    for pod_spec in pod_specs:
        for field in ("containers", "initContainers"):
            for container in pod_spec.get(field, []):
                container["image"] = _retagged(container["image"], image)


def _retagged(reference: str, image: dict) -> str:
    name, tag, digest = _split_image(reference)
    if name != image["name"]:
        return reference
    name = image.get("newName", name)
    if "digest" in image:
        return f"{name}@{image['digest']}"
    if "newTag" in image:
        return f"{name}:{image['newTag']}"
    return name + (f"@{digest}" if digest else f":{tag}" if tag else "")


def _split_image(reference: str) -> tuple[str, str | None, str | None]:
    name, _, digest = reference.partition("@")
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        return name[:colon], name[colon + 1 :], digest or None
    return name, None, digest or None


def _find(objects: list[Object], kind: str | None, name: str | None) -> Object | None:
    return next(
        (o for o in objects if o["kind"] == kind and o["metadata"].get("name") == name), None
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("directory", type=Path, help="a directory with a kustomization.yaml")
    args = parser.parse_args(argv)
    try:
        objects = render(args.directory)
    except KustomizeError as error:
        print(f"render: {error}", file=sys.stderr)
        return 1
    yaml.safe_dump_all(objects, sys.stdout, sort_keys=False, allow_unicode=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
