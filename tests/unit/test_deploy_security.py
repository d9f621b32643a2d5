"""deploy/k8s, least privilege and TLS, offline: every pod meets the "restricted" Pod Security
Standard; each process logs in with its own broker user and database role, whose rights are
exactly what its code uses; every hop to RabbitMQ, PostgreSQL and the gateway is TLS, verified
against a CA the pod has; only the services that need an engine may reach it."""

from __future__ import annotations

import inspect
import re
import uuid
from urllib.parse import urlsplit

import pytest
from nameko.containers import ServiceContainer
from nameko.rpc import (
    RPC_QUEUE_TEMPLATE,
    RPC_REPLY_QUEUE_TEMPLATE,
    Rpc,
    RpcProxy,
    get_rpc_exchange,
)

from services.gateway.amqp_queues import (
    INGEST_EXCHANGE,
    INGEST_QUEUE,
    LANE_PREFIX,
    LANES_EXCHANGE,
    LEGACY_DEAD_EXCHANGE,
    LEGACY_QUEUE,
)
from services.kernel.bus.queues import DEAD_SUFFIX, consumer_queue, dead_letter_exchange
from services.kernel.contract.wire import EVENTS_EXCHANGE
from services.kernel.process.nameko_support import ApplicationProvider
from services.notify import service as notify_service
from services.registry import service as registry_service
from services.scoring import service as scoring_service
from services.tracking import service as tracking_service
from tests.deploy_manifests import (
    OVERLAYS,
    SERVICES,
    STORES,
    container,
    env,
    mounted_file,
    objects,
    pod,
    secrets_used,
    volume_secret_files,
)

MODULES = {
    "registry": (registry_service, registry_service.RegistryService),
    "tracking": (tracking_service, tracking_service.TrackingService),
    "scoring": (scoring_service, scoring_service.ScoringService),
    "notify": (notify_service, notify_service.NotifyService),
}
RPC_EXCHANGE = get_rpc_exchange({}).name
STANDALONE_PROXY = "standalone_rpc_proxy"  # nameko.standalone.rpc's name for its reply queues
DEFAULT_EXCHANGE = "amq.default"  # RabbitMQ's name for "" in permissions
OPERATORS_SECRETS = {"rabbitmq-default-user", "postgres-app", "postgres-superuser"}


# --- the "restricted" Pod Security Standard -----------------------------------------------------

# Kubernetes' Pod Security Standards, profile "restricted" (version latest), baseline included
RESTRICTED_VOLUMES = {
    "configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim",
    "projected", "secret",
}  # fmt: skip


def restricted_violations(spec: dict) -> list[str]:
    """What in a pod spec breaks the "restricted" profile (its baseline part included)."""
    found = [f"host namespace {k}" for k in ("hostNetwork", "hostPID", "hostIPC") if spec.get(k)]
    pod_context = spec.get("securityContext", {})
    for volume in spec.get("volumes", []):
        kinds = set(volume) - {"name"}
        found += [f"volume {volume['name']}: {k}" for k in kinds - RESTRICTED_VOLUMES]
    containers = [*spec.get("initContainers", []), *spec["containers"]]
    for c in containers:
        context = c.get("securityContext", {})
        name = c["name"]
        if context.get("privileged"):
            found.append(f"{name}: privileged")
        if context.get("allowPrivilegeEscalation") is not False:
            found.append(f"{name}: allowPrivilegeEscalation is not false")
        capabilities = context.get("capabilities", {})
        if "ALL" not in capabilities.get("drop", []):
            found.append(f"{name}: capabilities do not drop ALL")
        if set(capabilities.get("add", [])) - {"NET_BIND_SERVICE"}:
            found.append(f"{name}: adds capabilities {capabilities['add']}")
        if not context.get("runAsNonRoot", pod_context.get("runAsNonRoot")):
            found.append(f"{name}: runAsNonRoot is not true")
        if 0 in (context.get("runAsUser"), pod_context.get("runAsUser")):
            found.append(f"{name}: runs as user 0")
        seccomp = context.get("seccompProfile", pod_context.get("seccompProfile", {}))
        if seccomp.get("type") not in ("RuntimeDefault", "Localhost"):
            found.append(f"{name}: seccompProfile is {seccomp.get('type')}")
        if context.get("procMount", "Default") != "Default":
            found.append(f"{name}: procMount")
        found += [f"{name}: hostPort" for port in c.get("ports", []) if port.get("hostPort")]
    if pod_context.get("seccompProfile", {}).get("type") == "Unconfined":
        found.append("pod seccompProfile Unconfined")
    return found


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_namespace_enforces_restricted_and_every_pod_meets_it(overlay):
    (namespace,) = objects(overlay, "Namespace").values()
    labels = namespace["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    for name, deployment in objects(overlay, "Deployment").items():
        assert restricted_violations(pod(deployment)) == [], name
        assert container(deployment)["securityContext"]["readOnlyRootFilesystem"] is True


def test_the_restricted_check_catches_what_it_should():
    spec = pod(objects("prod", "Deployment")["registry"])
    broken = {**spec, "securityContext": {}, "volumes": [{"name": "h", "hostPath": {"path": "/"}}]}
    broken["containers"] = [{**spec["containers"][0], "securityContext": {"privileged": True}}]
    found = " | ".join(restricted_violations(broken))
    for rule in ("privileged", "allowPrivilegeEscalation", "drop ALL", "runAsNonRoot", "seccomp"):
        assert rule in found
    assert "hostPath" in found


# --- each process its own credentials -----------------------------------------------------------


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_process_reads_its_own_credentials_and_only_ca_certificates_besides(overlay):
    users = objects(overlay, "User")
    (postgres,) = objects(overlay, "Cluster").values()
    roles = {role["name"]: role for role in postgres["spec"]["managed"]["roles"]}
    assert set(users) == set(SERVICES) and set(roles) == set(STORES)
    for name, deployment in objects(overlay, "Deployment").items():
        variables = {
            variable: e["valueFrom"]["secretKeyRef"]["name"]
            for variable, e in env(deployment).items()
            if "secretKeyRef" in e.get("valueFrom", {})
        }
        broker_secret = users[name]["spec"]["importCredentialsSecret"]["name"]
        assert broker_secret == variables["RABBITMQ_USERNAME"] == variables["RABBITMQ_PASSWORD"]
        assert broker_secret == f"rabbitmq-{name}"
        if name in STORES:
            database_secret = roles[name]["passwordSecret"]["name"]
            assert database_secret == variables["POSTGRES_USER"] == variables["POSTGRES_PASSWORD"]
            assert database_secret == f"postgres-{name}"
        assert not secrets_used(deployment) & OPERATORS_SECRETS
        files = [f for volume in pod(deployment)["volumes"] for f in volume_secret_files(volume)]
        shared = {secret for secret, key in files if key == "ca.crt"}  # a CA's certificate only
        shared -= {secret for secret, key in files if key != "ca.crt"}
        # The tree-head signing key is the deployment's, not a credential to anyone's data: every
        # store signs its heads with it (README "How an auditor verifies").
        shared.add("zhaoshang-signing")
        for secret in secrets_used(deployment) - shared:  # variables, envFrom, mounted files
            assert name in secret.split("-"), (name, secret)


def test_each_service_role_has_its_schema_alone_owned_by_another_within_the_connections_allowed():
    postgres = objects("prod", "Cluster")["postgres"]["spec"]
    roles = postgres["managed"]["roles"]
    sql = postgres["bootstrap"]["initdb"]["postInitApplicationSQL"]
    for role in roles:
        name = role["name"]
        assert role["login"]
        assert not any(role.get(k) for k in ("superuser", "createdb", "createrole", "inRoles"))
        assert f"CREATE ROLE {name} NOLOGIN" in sql
        # The owner's schema (least privilege: services/kernel/store/roles.py), used by the role.
        assert f"CREATE SCHEMA IF NOT EXISTS {name} AUTHORIZATION zhaoshang" in sql
        assert f"GRANT USAGE ON SCHEMA {name} TO {name}" in sql
    # (largest replica count + 1 rolling out) × (pool + eventsourcing's overflow 10 + 1 lease)
    config = objects("prod", "ConfigMap")["zhaoshang-config"]["data"]
    per_process = int(config["POSTGRES_POOL_SIZE"]) + 10 + 1
    scalers = objects("prod", "HorizontalPodAutoscaler")
    deployments = objects("prod", "Deployment")
    for role in roles:
        name = role["name"]
        scaler = scalers.get(name, {}).get("spec", {})
        most = scaler.get("maxReplicas") or deployments[name]["spec"]["replicas"]
        assert role["connectionLimit"] >= (most + 1) * per_process, name
    limits = sum(role["connectionLimit"] for role in roles)
    assert limits + 20 <= int(postgres["postgresql"]["parameters"]["max_connections"])
    hba = postgres["postgresql"]["pg_hba"]
    assert hba[-1] == "hostnossl all all all reject"  # no plaintext connection at all
    assert f"hostssl zhaoshang {','.join(STORES)} all scram-sha-256" in hba


# --- broker rights: exactly the names the code uses ---------------------------------------------


def service_facts(name: str) -> tuple[tuple[str, ...], bool, set[str]]:
    """What a service's code does on the bus: the upstreams it follows, whether its relay
    publishes, and the `<service>.<method>` it calls (read_wire of what it follows; the calls
    its service class makes through its RpcProxy attributes)."""
    module, cls = MODULES[name]
    provider: ApplicationProvider = vars(cls)["app"]
    follows, relays = tuple(provider.follows), provider.relay_as is not None
    proxies = {attr: p.target_service for attr, p in vars(cls).items() if isinstance(p, RpcProxy)}
    calls = {f"{upstream}.read_wire" for upstream in follows}
    for attr, method in re.findall(r"self\.(\w+)\.(\w+)\(", inspect.getsource(module)):
        if attr in proxies:
            calls.add(f"{proxies[attr]}.{method}")
    return follows, relays, calls


def rpc_methods(name: str) -> set[str]:
    container = ServiceContainer(MODULES[name][1], {"AMQP_URI": "amqp://"})  # never started
    return {f"{name}.{e.method_name}" for e in container.entrypoints if isinstance(e, Rpc)}


def required_rights() -> dict[str, dict[str, set[str]]]:
    """Per process, per right (configure, write, read, and the routing keys events:write,
    events:read, rpc:write, rpc:read), the names its code needs. A reply key stands for any
    UUID, a reply queue for any of its caller's."""
    reply_key = str(uuid.uuid4())
    rights: dict[str, dict[str, set[str]]] = {}
    for name in STORES:
        follows, relays, calls = service_facts(name)
        own = {RPC_QUEUE_TEMPLATE.format(name), RPC_REPLY_QUEUE_TEMPLATE.format(name, reply_key)}
        queues = {consumer_queue(name, upstream).name for upstream in follows}
        dead = {queue + DEAD_SUFFIX for queue in queues}
        consumes = {EVENTS_EXCHANGE, dead_letter_exchange.name} if follows else set()
        rights[name] = {
            "configure": {RPC_EXCHANGE, *own, *queues, *dead, *consumes}
            | ({EVENTS_EXCHANGE} if relays else set()),
            "write": {RPC_EXCHANGE, *own, *queues, *dead}
            | ({dead_letter_exchange.name, DEFAULT_EXCHANGE} if follows else set())
            | ({EVENTS_EXCHANGE} if relays else set()),
            "read": {RPC_EXCHANGE, *own, *queues, *consumes},
            "events:write": {name} if relays else set(),
            "events:read": set(follows),
            "rpc:write": calls | {reply_key},
            "rpc:read": {f"{name}.*", reply_key},
        }
    reply_queue = RPC_REPLY_QUEUE_TEMPLATE.format(STANDALONE_PROXY, reply_key)
    ingest, ingest_dead = INGEST_QUEUE, INGEST_QUEUE + DEAD_SUFFIX
    dlx = dead_letter_exchange.name
    # What an earlier release left, drained and deleted (services/gateway/amqp_queues.py).
    legacy, legacy_dead = LEGACY_QUEUE, LEGACY_QUEUE + DEAD_SUFFIX
    lanes = {LANES_EXCHANGE, LANE_PREFIX + "pref:420100", LANE_PREFIX + "county:420102"}
    rights["gateway"] = {
        "configure": {RPC_EXCHANGE, reply_queue, INGEST_EXCHANGE, dlx, ingest, ingest_dead}
        | {legacy, legacy_dead, LEGACY_DEAD_EXCHANGE}
        | lanes,
        "write": {RPC_EXCHANGE, DEFAULT_EXCHANGE, reply_queue, ingest, ingest_dead, legacy},
        "read": {RPC_EXCHANGE, reply_queue, INGEST_EXCHANGE, dlx, ingest, legacy, legacy_dead}
        | lanes,
        "events:write": set(),
        "events:read": set(),
        "rpc:write": set().union(*(rpc_methods(name) for name in STORES)),
        "rpc:read": {reply_key},
    }
    return rights


def test_each_broker_user_may_use_exactly_the_names_its_code_uses():
    required = required_rights()
    kinds = required["gateway"]
    everything = {kind: set().union(*(r[kind] for r in required.values())) for kind in kinds}
    everything["events:write"] |= set(SERVICES)  # what one could try to publish as
    everything["rpc:write"] |= set().union(*(rpc_methods(name) for name in STORES))
    everything["rpc:read"] |= {f"{name}.*" for name in STORES}
    granted = granted_rights()
    assert set(granted) == set(required)
    for user, rights in required.items():
        for kind, names in rights.items():
            # RabbitMQ matches a permission as a regex search over the name
            allowed = {n for n in everything[kind] if re.search(granted[user].get(kind, "^$"), n)}
            assert allowed == names, (user, kind, sorted(allowed ^ names))


def granted_rights() -> dict[str, dict[str, str]]:
    """Per user, the regexes the manifests grant (the same kinds as required_rights)."""
    granted: dict[str, dict[str, str]] = {}
    for permission in objects("prod", "Permission").values():
        user = permission["spec"]["userReference"]["name"]
        granted.setdefault(user, {}).update(permission["spec"]["permissions"])
        assert permission["spec"]["vhost"] == "/"
    exchanges = {EVENTS_EXCHANGE: "events", RPC_EXCHANGE: "rpc"}
    for topic in objects("prod", "TopicPermission").values():
        user = topic["spec"]["userReference"]["name"]
        rights = topic["spec"]["permissions"]
        prefix = exchanges[rights["exchange"]]
        granted[user].update({f"{prefix}:write": rights["write"], f"{prefix}:read": rights["read"]})
    return granted


# --- TLS on every hop ---------------------------------------------------------------------------


def certificate_for(overlay: str, secret: str) -> dict:
    (certificate,) = [
        c for c in objects(overlay, "Certificate").values() if c["spec"]["secretName"] == secret
    ]
    issuer = certificate["spec"]["issuerRef"]
    if issuer.get("kind", "Issuer") == "Issuer":  # a ClusterIssuer lives outside the overlay
        assert issuer["name"] in objects(overlay, "Issuer")
    return certificate


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_broker_and_the_database_speak_tls_only_and_every_client_verifies_them(overlay):
    (rabbit,) = objects(overlay, "RabbitmqCluster").values()
    tls = rabbit["spec"]["tls"]
    assert tls["disableNonTLSListeners"] is True
    broker_names = certificate_for(overlay, tls["secretName"])["spec"]["dnsNames"]
    namespace = rabbit["metadata"]["namespace"]
    assert f"rabbitmq.{namespace}.svc" in broker_names  # the operators' management API calls
    config = objects(overlay, "ConfigMap")["zhaoshang-config"]["data"]
    assert config["POSTGRES_SSLMODE"] == "verify-full"
    (postgres,) = objects(overlay, "Cluster")
    # CloudNativePG's server certificate names its Services (<cluster>-rw …); its CA is in
    # Secret <cluster>-ca
    assert config["POSTGRES_HOST"] == f"{postgres}-rw"
    for name, deployment in objects(overlay, "Deployment").items():
        uri = urlsplit(env(deployment)["AMQP_URI"]["value"])
        assert (uri.scheme, uri.port, uri.hostname in broker_names) == ("amqps", 5671, True), name
        assert mounted_file(deployment, config["AMQP_SSL_CA"]) == (tls["secretName"], "ca.crt")
        if name in STORES:
            root = mounted_file(deployment, config["POSTGRES_SSLROOTCERT"])
            assert root == (f"{postgres}-ca", "ca.crt"), name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_gateway_serves_tls_from_a_certificate_cert_manager_renews(overlay):
    gateway = objects(overlay, "Deployment")["gateway"]
    variables = {k: v["value"] for k, v in env(gateway).items() if "value" in v}
    cert = mounted_file(gateway, variables["GATEWAY_TLS_CERT"])
    key = mounted_file(gateway, variables["GATEWAY_TLS_KEY"])
    assert cert is not None and key is not None and cert[0] == key[0]
    assert (cert[1], key[1]) == ("tls.crt", "tls.key")
    certificate = certificate_for(overlay, cert[0])["spec"]
    assert "gateway" in certificate["dnsNames"] and "server auth" in certificate["usages"]
    assert certificate["privateKey"]["rotationPolicy"] == "Always"
    # the kubelet's gRPC probe speaks plaintext, which the TLS port refuses
    assert "grpc" not in container(gateway)["livenessProbe"]
    (ca,) = [c for c in objects(overlay, "Certificate").values() if c["spec"].get("isCA")]
    assert ca["spec"]["privateKey"]["rotationPolicy"] == "Never"  # renewed, old leaves verify


# --- who may reach the engines ------------------------------------------------------------------


def test_only_the_services_that_need_an_engine_may_reach_it():
    policies = objects("prod", "NetworkPolicy")

    def sources(policy: str, port: int) -> list[dict]:
        spec = policies[policy]["spec"]
        assert spec["policyTypes"] == ["Ingress"]
        return [
            peer
            for rule in spec["ingress"]
            if any(p["port"] == port for p in rule["ports"])
            for peer in rule["from"]
        ]

    broker = policies["rabbitmq-ingress"]["spec"]["podSelector"]["matchLabels"]
    assert broker["app.kubernetes.io/name"] == "rabbitmq"
    (clients,) = sources("rabbitmq-ingress", 5671)
    assert clients == {"podSelector": {"matchLabels": {"app.kubernetes.io/part-of": "zhaoshang"}}}
    assert not sources("rabbitmq-ingress", 5672)  # no plaintext AMQP
    database = policies["postgres-ingress"]["spec"]["podSelector"]["matchLabels"]
    (cluster,) = objects("prod", "Cluster")
    assert database == {"cnpg.io/cluster": cluster}
    stores = {"app.kubernetes.io/part-of": "zhaoshang", "app.kubernetes.io/component": "service"}
    services, replicas, operator = sources("postgres-ingress", 5432)
    assert services == {"podSelector": {"matchLabels": stores}}  # not the gateway
    assert replicas == {"podSelector": {"matchLabels": database}}
    assert operator["namespaceSelector"]["matchLabels"] == {
        "kubernetes.io/metadata.name": "cnpg-system"
    }
    for deployment in objects("prod", "Deployment").values():
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        reaches_store = stores.items() <= labels.items()
        assert reaches_store == (deployment["metadata"]["name"] in STORES)
