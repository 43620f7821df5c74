"""Checks that schemas miss: do the rendered objects fit together and follow the house rules?

Each check takes the objects of one rendering (plain dicts, as ``yaml.safe_load_all`` gives
them) and returns problems as sentences naming the object, what is wrong and what was
expected. An empty list means the check passed. Pure: no cluster, no subprocess.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any, Final

from kubekit.constants import MANAGED_BY_LABEL, MANAGED_BY_VALUE, RUN_ID_LABEL

Obj = dict[str, Any]

MANAGED_BY: Final = (MANAGED_BY_LABEL, MANAGED_BY_VALUE)
WORKLOAD_KINDS: Final = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job")
ALLOWED_PROBES: Final = ("httpGet", "grpc", "exec")
PROBE_KINDS: Final = ("readinessProbe", "livenessProbe", "startupProbe")
# Where a read-only container still needs a writable directory (an emptyDir mount).
TMP: Final = "/tmp"  # noqa: S108 -- a path inside the container, not a temp file here

_DNS_1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS_1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")


def name_of(obj: Obj) -> str:
    """``Kind/name``, as problems name objects."""
    return f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"


def workloads(objects: list[Obj]) -> Iterator[tuple[Obj, Obj]]:
    """Each workload object with its pod template."""
    for obj in objects:
        if obj.get("kind") in WORKLOAD_KINDS:
            yield obj, obj.get("spec", {}).get("template", {})


def containers(pod_spec: Obj) -> list[Obj]:
    """Init and regular containers of a pod spec."""
    return [*pod_spec.get("initContainers", []), *pod_spec.get("containers", [])]


def _subset(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def _template_labels(template: Obj) -> dict[str, str]:
    return template.get("metadata", {}).get("labels") or {}


# -- the checks ------------------------------------------------------------------------------


def selectors_match(objects: list[Obj]) -> list[str]:
    """Every Service selects some workload's pods; every workload selects its own pods."""
    problems = []
    templates = [(name_of(w), _template_labels(t)) for w, t in workloads(objects)]
    for workload, template in workloads(objects):
        match = workload.get("spec", {}).get("selector", {}).get("matchLabels") or {}
        if not _subset(match, _template_labels(template)):
            problems.append(
                f"{name_of(workload)}: selector {match} does not match its pod template's"
                f" labels {_template_labels(template)}"
            )
    for service in (o for o in objects if o.get("kind") == "Service"):
        selector = service.get("spec", {}).get("selector") or {}
        if not any(_subset(selector, labels) for _, labels in templates):
            found = "; ".join(f"{n} has {labels}" for n, labels in templates) or "no workloads"
            problems.append(
                f"{name_of(service)}: selector {selector} matches no workload's pod labels"
                f" ({found})"
            )
    return problems


def service_ports_exist(objects: list[Obj]) -> list[str]:
    """Every Service targetPort is a container port (by name or number) of the pods it selects."""
    problems = []
    for service in (o for o in objects if o.get("kind") == "Service"):
        selector = service.get("spec", {}).get("selector") or {}
        selected = [(w, t) for w, t in workloads(objects) if _subset(selector, _template_labels(t))]
        for port in service.get("spec", {}).get("ports", []):
            target = port.get("targetPort", port.get("port"))
            for workload, template in selected:
                ports = [
                    p for c in containers(template.get("spec", {})) for p in c.get("ports", [])
                ]
                names = {p.get("name") for p in ports}
                numbers = {p.get("containerPort") for p in ports}
                if target not in (names if isinstance(target, str) else numbers):
                    problems.append(
                        f"{name_of(service)}: port {port.get('name', port.get('port'))!r}"
                        f" targets {target!r}, which is no container port of"
                        f" {name_of(workload)} (names {sorted(n for n in names if n)},"
                        f" numbers {sorted(n for n in numbers if n)})"
                    )
    return problems


def names_are_dns_labels(objects: list[Obj]) -> list[str]:
    """Object, container and port names are DNS labels (Services: RFC 1035, letter first)."""
    problems = []
    for obj in objects:
        name = obj.get("metadata", {}).get("name", "")
        pattern = _DNS_1035_LABEL if obj.get("kind") == "Service" else _DNS_1123_LABEL
        if len(name) > 63 or not pattern.match(name):
            rule = "RFC 1035" if obj.get("kind") == "Service" else "RFC 1123"
            problems.append(f"{name_of(obj)}: name {name!r} is not a DNS label ({rule})")
    for workload, template in workloads(objects):
        for container in containers(template.get("spec", {})):
            cname = container.get("name", "")
            if not _DNS_1123_LABEL.match(cname) or len(cname) > 63:
                problems.append(f"{name_of(workload)}: container name {cname!r} is not a DNS label")
            for port in container.get("ports", []):
                pname = port.get("name")
                if pname is not None and (len(pname) > 15 or not _DNS_1035_LABEL.match(pname)):
                    problems.append(
                        f"{name_of(workload)}: port name {pname!r} is not an IANA service name"
                        " (at most 15 lowercase letters, digits, '-', a letter first)"
                    )
    return problems


def harness_labels(objects: list[Obj], run_id: str | None = None) -> list[str]:
    """Every object and pod template carries managed-by=mnist-e2e and the run-id label.

    With *run_id*, the run-id label must have that value (a per-run rendering); without, any
    value will do (the overlays carry a placeholder).
    """
    problems = []
    for obj in objects:
        places = [("", obj.get("metadata", {}).get("labels") or {})]
        places += [(" pod template", _template_labels(t)) for w, t in workloads([obj])]
        for where, labels in places:
            key, value = MANAGED_BY
            if labels.get(key) != value:
                problems.append(f"{name_of(obj)}{where}: label {key}={value} is missing")
            if RUN_ID_LABEL not in labels:
                problems.append(f"{name_of(obj)}{where}: label {RUN_ID_LABEL} is missing")
            elif run_id is not None and labels[RUN_ID_LABEL] != run_id:
                problems.append(
                    f"{name_of(obj)}{where}: label {RUN_ID_LABEL} is"
                    f" {labels[RUN_ID_LABEL]!r}, expected {run_id!r}"
                )
    return problems


def probes_are_real(objects: list[Obj]) -> list[str]:
    """Every container has readiness and liveness probes, none a bare TCP connect."""
    problems = []
    for workload, template in workloads(objects):
        for container in template.get("spec", {}).get("containers", []):
            where = f"{name_of(workload)} container {container.get('name')}"
            port_names = {p.get("name") for p in container.get("ports", [])}
            for kind in ("readinessProbe", "livenessProbe"):
                if kind not in container:
                    problems.append(f"{where}: no {kind}")
            for kind in PROBE_KINDS:
                probe = container.get(kind)
                if probe is None:
                    continue
                if "tcpSocket" in probe:
                    problems.append(
                        f"{where}: {kind} is a bare TCP check; ask the application"
                        f" ({' or '.join(ALLOWED_PROBES)})"
                    )
                elif not any(k in probe for k in ALLOWED_PROBES):
                    problems.append(f"{where}: {kind} has no {', '.join(ALLOWED_PROBES)} action")
                port = probe.get("httpGet", {}).get("port")
                if isinstance(port, str) and port not in port_names:
                    problems.append(f"{where}: {kind} uses port {port!r}, not a container port")
    return problems


def runs_restricted(objects: list[Obj]) -> list[str]:
    """Pods meet the 'restricted' Pod Security Standard, and root filesystems are read-only.

    Non-root with a non-zero uid, no privilege escalation, all capabilities dropped, the
    runtime's seccomp profile; a read-only root filesystem needs a writable /tmp mount.
    """
    problems = []
    for workload, template in workloads(objects):
        pod = template.get("spec", {})
        pod_sc = pod.get("securityContext") or {}
        for container in containers(pod):
            where = f"{name_of(workload)} container {container.get('name')}"
            sc = container.get("securityContext") or {}

            def setting(key: str, sc: Obj = sc, pod_sc: Obj = pod_sc) -> Any:
                return sc.get(key, pod_sc.get(key))

            if setting("runAsNonRoot") is not True:
                problems.append(f"{where}: runAsNonRoot is not true")
            if setting("runAsUser") in (None, 0):
                problems.append(f"{where}: runAsUser is unset or 0; set a non-zero uid")
            if sc.get("allowPrivilegeEscalation") is not False:
                problems.append(f"{where}: allowPrivilegeEscalation is not false")
            if "ALL" not in (sc.get("capabilities") or {}).get("drop", []):
                problems.append(f"{where}: capabilities do not drop ALL")
            if (setting("seccompProfile") or {}).get("type") not in ("RuntimeDefault", "Localhost"):
                problems.append(f"{where}: seccompProfile is not RuntimeDefault")
            if sc.get("readOnlyRootFilesystem") is not True:
                problems.append(f"{where}: readOnlyRootFilesystem is not true")
            elif not any(m.get("mountPath") == TMP for m in container.get("volumeMounts", [])):
                problems.append(f"{where}: read-only root filesystem but no writable /tmp mount")
    return problems


def resources_bounded(objects: list[Obj]) -> list[str]:
    """Every container requests and limits CPU and memory."""
    problems = []
    for workload, template in workloads(objects):
        for container in containers(template.get("spec", {})):
            resources = container.get("resources") or {}
            for section in ("requests", "limits"):
                for resource in ("cpu", "memory"):
                    if resource not in (resources.get(section) or {}):
                        problems.append(
                            f"{name_of(workload)} container {container.get('name')}:"
                            f" no {resource} in resources.{section}"
                        )
    return problems


def references_resolve(objects: list[Obj]) -> list[str]:
    """Mounts name declared volumes; claims, service accounts and roles exist in the set."""
    problems = []
    present = {(o.get("kind"), o.get("metadata", {}).get("name")) for o in objects}
    for workload, template in workloads(objects):
        pod = template.get("spec", {})
        volumes = {v.get("name"): v for v in pod.get("volumes", [])}
        for container in containers(pod):
            for mount in container.get("volumeMounts", []):
                if mount.get("name") not in volumes:
                    problems.append(
                        f"{name_of(workload)} container {container.get('name')}: mounts"
                        f" volume {mount.get('name')!r}, which the pod does not declare"
                    )
        for volume in volumes.values():
            claim = (volume.get("persistentVolumeClaim") or {}).get("claimName")
            if claim is not None and ("PersistentVolumeClaim", claim) not in present:
                problems.append(
                    f"{name_of(workload)}: volume {volume.get('name')!r} claims PVC {claim!r},"
                    " which this rendering does not contain"
                )
        account = pod.get("serviceAccountName")
        if account not in (None, "default") and ("ServiceAccount", account) not in present:
            problems.append(
                f"{name_of(workload)}: runs as service account {account!r}, which this"
                " rendering does not contain"
            )
    claims = {
        (o.get("metadata", {}).get("namespace"), o.get("metadata", {}).get("name"))
        for o in objects
        if o.get("kind") == "PersistentVolumeClaim"
    }
    for obj in objects:
        if obj.get("kind") == "PersistentVolumeClaim":
            volume = obj.get("spec", {}).get("volumeName")
            if volume and ("PersistentVolume", volume) not in present:
                problems.append(
                    f"{name_of(obj)}: binds to PV {volume!r}, which this rendering does not contain"
                )
        if obj.get("kind") == "PersistentVolume":
            ref = obj.get("spec", {}).get("claimRef") or {}
            if ref and (ref.get("namespace"), ref.get("name")) not in claims:
                problems.append(
                    f"{name_of(obj)}: is reserved for claim {ref.get('namespace')}/"
                    f"{ref.get('name')}, which this rendering does not contain"
                )
    for binding in (o for o in objects if o.get("kind") == "RoleBinding"):
        ref = binding.get("roleRef", {})
        if (ref.get("kind"), ref.get("name")) not in present:
            problems.append(
                f"{name_of(binding)}: roleRef {ref.get('kind')}/{ref.get('name')} is not in"
                " this rendering"
            )
    return problems


def images_pinned(objects: list[Obj]) -> list[str]:
    """Every image names a tag or digest, and not :latest."""
    problems = []
    for workload, template in workloads(objects):
        for container in containers(template.get("spec", {})):
            image = container.get("image", "")
            last = image.rsplit("/", 1)[-1]
            if ("@" not in last and ":" not in last) or last.endswith(":latest"):
                problems.append(
                    f"{name_of(workload)} container {container.get('name')}: image {image!r}"
                    " is not pinned to a tag or digest (and :latest does not count)"
                )
    return problems


CHECKS: Final[tuple[Callable[[list[Obj]], list[str]], ...]] = (
    selectors_match,
    service_ports_exist,
    names_are_dns_labels,
    harness_labels,
    probes_are_real,
    runs_restricted,
    resources_bounded,
    references_resolve,
    images_pinned,
)


def check_all(objects: list[Obj]) -> list[str]:
    """Every check's problems, in check order."""
    return [problem for check in CHECKS for problem in check(objects)]
