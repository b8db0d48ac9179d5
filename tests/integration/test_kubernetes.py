"""deploy/kubernetes (SPEC §15), without a cluster: what ``kubectl kustomize`` renders, validated
against the Kubernetes schemas (kubernetes-validate, strict) and the prometheus-operator CRDs'
models (cloudcoil-models-prometheus-operator); its generated parts checked against their one
source (alerts/, dashboards/, the configuration schema)."""

from __future__ import annotations

import json
import runpy
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from cloudcoil.models.prometheus_operator import v1, v1alpha1

from heartbeat_core.config import Settings, load_settings

ROOT = Path(__file__).resolve().parents[2]
KUBE = ROOT / "deploy" / "kubernetes"
VERSION = "1.32.0"  # the kubectl on the machine
CRDS: dict[str, Any] = {
    "ServiceMonitor": v1.ServiceMonitor,
    "PrometheusRule": v1.PrometheusRule,
    "AlertmanagerConfig": v1alpha1.AlertmanagerConfig,
}


class Loader(yaml.SafeLoader):
    """YAML as kubectl writes it: a bare ``=`` (a matcher's type) is the string, as YAML 1.2 reads it."""


Loader.add_constructor("tag:yaml.org,2002:value", lambda loader, node: loader.construct_scalar(node))  # type: ignore[arg-type]


def render(path: Path) -> list[dict[str, Any]]:
    out = subprocess.run(["kubectl", "kustomize", str(path)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return [doc for doc in yaml.load_all(out.stdout, Loader=Loader) if doc]


BASE = render(KUBE)


def named(kind: str, name: str, objects: list[dict[str, Any]] = BASE) -> dict[str, Any]:
    (found,) = [o for o in objects if o["kind"] == kind and o["metadata"]["name"].startswith(name)]
    return found


def unknown_fields(given: Any, dumped: Any, path: str = "") -> list[str]:
    """Keys of ``given`` the model dropped: fields the CRD does not have (a typo the models ignore)."""
    if isinstance(given, dict) and isinstance(dumped, dict):
        missing = [f"{path}.{k}" for k in given if k not in dumped]
        return missing + [
            p for k in given if k in dumped for p in unknown_fields(given[k], dumped[k], f"{path}.{k}")
        ]
    if isinstance(given, list) and isinstance(dumped, list):
        return [
            p for i, (a, b) in enumerate(zip(given, dumped)) for p in unknown_fields(a, b, f"{path}[{i}]")
        ]
    return []


@pytest.mark.parametrize("path", [KUBE, KUBE / "overlays" / "external-redis"], ids=["base", "external-redis"])
def test_every_rendered_object_validates_against_its_schema(path: Path) -> None:
    objects = render(path)
    assert {o["kind"] for o in objects} >= {"Deployment", "Service", "ConfigMap", "PodDisruptionBudget"}
    for obj in objects:
        if obj["kind"] in CRDS:
            model = CRDS[obj["kind"]].model_validate(obj)
            assert unknown_fields(obj, model.model_dump(by_alias=True, exclude_none=True)) == [], obj["kind"]
        else:
            kubernetes_validate.validate(obj, VERSION, strict=True)
    assert "Secret" not in {o["kind"] for o in objects}  # referenced, never shipped


def test_the_external_redis_overlay_has_no_redis_and_reads_the_url_from_the_secret() -> None:
    objects = render(KUBE / "overlays" / "external-redis")
    assert not [o for o in objects if o["metadata"]["name"] == "heartbeat-redis"]
    for name in ("heartbeat-receiver", "heartbeat-exporter"):
        env = {
            e["name"]: e
            for e in named("Deployment", name, objects)["spec"]["template"]["spec"]["containers"][0]["env"]
        }
        assert env["HEARTBEAT_REDIS_URL"] == {
            "name": "HEARTBEAT_REDIS_URL",
            "valueFrom": {"secretKeyRef": {"name": "heartbeat-secrets", "key": "redis-url"}},
        }
        assert "REDIS_PASSWORD" not in env


def test_two_of_each_app_locked_down_with_probes_and_requests() -> None:
    for name in ("heartbeat-receiver", "heartbeat-exporter"):
        deployment = named("Deployment", name)
        assert deployment["spec"]["replicas"] == 2
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True and pod["automountServiceAccountToken"] is False
        (container,) = pod["containers"]
        assert container["securityContext"] == {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        }
        assert {"livenessProbe", "readinessProbe", "startupProbe"} <= set(container)
        assert {"cpu", "memory"} <= set(container["resources"]["requests"])
        assert named("PodDisruptionBudget", name)["spec"]["minAvailable"] == 1
    exporter = named("Deployment", "heartbeat-exporter")["spec"]["template"]["spec"]["containers"][0]
    secret_key = next(e for e in exporter["env"] if e["name"] == "HEARTBEAT_SECRET_KEY")
    assert secret_key["valueFrom"]["secretKeyRef"]["name"] == "heartbeat-secrets"  # one key for every copy
    metrics = named("NetworkPolicy", "heartbeat-exporter")["spec"]["ingress"][0]["from"][0]
    assert metrics == {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}
    monitor = named("ServiceMonitor", "heartbeat-exporter")["spec"]
    service = named("Service", "heartbeat-exporter")
    assert monitor["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    assert service["metadata"]["labels"][monitor["jobLabel"]] == "heartbeat-exporter"  # the rules' job


def test_the_generated_parts_are_what_their_sources_make() -> None:
    made = runpy.run_path(str(KUBE / "generate.py"), run_name="heartbeat_kubernetes_generate")
    for name, make in made["FILES"].items():
        assert (KUBE / "base" / name).read_text(encoding="utf-8") == make(), f"{name} drifted: regenerate it"
    rules = yaml.safe_load((ROOT / "alerts" / "heartbeat.rules.yml").read_text(encoding="utf-8"))
    assert named("PrometheusRule", "heartbeat")["spec"]["groups"] == rules["groups"]
    dashboard = named("ConfigMap", "heartbeat-dashboard")
    assert dashboard["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert json.loads(dashboard["data"]["heartbeat-overview.json"]) == json.loads(
        (ROOT / "dashboards" / "heartbeat-overview.json").read_text(encoding="utf-8")
    )


def test_the_rule_groups_pass_promtool(tmp_path: Path) -> None:
    groups = named("PrometheusRule", "heartbeat")["spec"]["groups"]
    (tmp_path / "rules.yml").write_text(yaml.safe_dump({"groups": groups}), encoding="utf-8")
    checked = subprocess.run(
        ["promtool", "check", "rules", str(tmp_path / "rules.yml")], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_configuration_and_every_variable_are_keys_of_the_schema(tmp_path: Path) -> None:
    config = named("ConfigMap", "heartbeat-config")["data"]["heartbeat.yml"]
    (tmp_path / "heartbeat.yml").write_text(config, encoding="utf-8")
    assert set(yaml.safe_load(config)) <= set(Settings.model_fields)
    load_settings(tmp_path / "heartbeat.yml", environ={})  # valid as it stands
    keys = {k.upper() for k in Settings.model_fields}
    for name in ("heartbeat-receiver", "heartbeat-exporter"):
        env = named("Deployment", name)["spec"]["template"]["spec"]["containers"][0]["env"]
        ours = [e["name"].removeprefix("HEARTBEAT_") for e in env if e["name"].startswith("HEARTBEAT_")]
        assert all(n.split("__")[0] in keys or n == "CONFIG" for n in ours), ours
