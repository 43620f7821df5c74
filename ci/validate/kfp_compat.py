"""Will a KFP 2.17.0 backend accept our compiled pipeline? Check its fields against 2.17.0's.

KFP's API server reads an uploaded pipeline strictly: ``v2_template.go``
(backend/src/apiserver/template/) unmarshals the pipeline spec and the platform spec with
plain ``protojson.Unmarshal``, where an unknown field is an error, and takes schema version
2.1.0 only; its Argo compiler reads each task's Kubernetes config the same way
(backend/src/v2/compiler/argocompiler/container.go). A field its protos do not know fails the
upload ("unknown field \\"pvcNameParameter\\" in kfp_kubernetes.PvcMount" is what SDK 2.16 IR
did to a 2.2.0 backend). So every field the IR sets must exist in the backend's protos.

Which protos: KFP's root go.mod replaces ``github.com/kubeflow/pipelines/api`` and
``…/kubernetes_platform`` with those folders of its own source, so the 2.17.0 backend is
built from that tag's ``api/v2alpha1/pipeline_spec.proto`` and
``kubernetes_platform/proto/kubernetes_executor_config.proto`` (the Go code generated beside
them carries the same descriptors). The SDK's packages at the lock's pins carry the same
messages and fields (:data:`SAME_PROTOS`), so the field list is read at check time from their
installed ``_pb2`` descriptors; none is committed. When KFP's source is here
(``$MNIST_E2E_KFP_SOURCE``, else ``../shared/vendor/kubeflow-pipelines-2.17.0.tar.gz`` beside
the checkout, checked as for the air-gapped build: :mod:`ci.airgap.kfp_source`), its two
``.proto`` files are compiled too (protoc from grpcio-tools, in a temp dir), the IR is checked
against them, and every difference from the installed descriptors is reported: that is what
catches a lock that moves kfp-pipeline-spec or kfp-kubernetes away from the backend's protos.

    python -m ci.validate.kfp_compat   # where the field list comes from, and what is wrong with it
"""

from __future__ import annotations

import importlib.metadata
import sys
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from google.protobuf import descriptor_pb2, descriptor_pool, json_format
from google.protobuf.descriptor import Descriptor, FileDescriptor
from google.protobuf.message import Message

from ci.airgap import kfp_source, pins
from ci.validate.generated_protos import protoc

ROOT: Final = Path(__file__).resolve().parents[2]
TARGET: Final = f"KFP {pins.KFP_VERSION}"
# v2_template.go: "KFP only supports schema version 2.1.0".
SCHEMA_VERSION: Final = "2.1.0"
# The installed distributions whose protos were compared with KFP 2.17.0's source and found
# to have the same messages and fields (kfp-pipeline-spec 2.17.3 is a later patch release of
# the spec than the tag's setup.py says, 2.17.0, with the same pipeline_spec.proto). Without
# the source, the installed descriptors stand in for the backend's only at these versions.
SAME_PROTOS: Final = {"kfp-pipeline-spec": "2.17.3", "kfp-kubernetes": "2.17.0"}
# The backend's protos in KFP's source, each with the name protoc gives it: the Kubernetes
# one imports "pipeline_spec.proto", so both are compiled from one folder.
PROTO_FILES: Final = {
    "api/v2alpha1/pipeline_spec.proto": "pipeline_spec.proto",
    "kubernetes_platform/proto/kubernetes_executor_config.proto": (
        "kubernetes_executor_config.proto"
    ),
}

Fields = dict[str, set[str]]  # message type's full name → its JSON field names


def fields_of(files: Iterable[FileDescriptor]) -> Fields:
    """The JSON field names of every message type of *files* and of every type they reach.

    google.protobuf's types (Struct, Value, …) are left out: free-form, and the same in
    every version.
    """
    found: Fields = {}

    def walk(descriptor: Descriptor) -> None:
        if descriptor.full_name in found:
            return
        found[descriptor.full_name] = {field.json_name for field in descriptor.fields}
        for nested in descriptor.nested_types:
            walk(nested)
        for field in descriptor.fields:
            if field.message_type is not None:
                walk(field.message_type)

    for file in files:
        for message in file.message_types_by_name.values():
            walk(message)
    return {name: f for name, f in found.items() if not name.startswith("google.protobuf.")}


def installed_fields() -> Fields:
    """The fields of the installed kfp-pipeline-spec and kfp-kubernetes protos."""
    from kfp.kubernetes import kubernetes_executor_config_pb2
    from kfp.pipeline_spec import pipeline_spec_pb2

    return fields_of([pipeline_spec_pb2.DESCRIPTOR, kubernetes_executor_config_pb2.DESCRIPTOR])


def installed_versions() -> dict[str, str]:
    """The installed version of each distribution in :data:`SAME_PROTOS`."""
    return {name: importlib.metadata.version(name) for name in SAME_PROTOS}


def _googleapis_include() -> Path:
    """The folder that holds google/rpc/status.proto, which pipeline_spec.proto imports.

    googleapis-common-protos (in the lock through kfp) ships it beside its module;
    grpcio-tools' protoc brings only google/protobuf's own files.
    """
    from google.rpc import status_pb2

    include = Path(status_pb2.__file__).resolve().parents[2]
    if not (include / "google" / "rpc" / "status.proto").is_file():
        raise FileNotFoundError(
            f"no google/rpc/status.proto under {include}: googleapis-common-protos ships it;"
            " reinstall the lock (tox -r -e lint)"
        )
    return include


def source_fields(repo_root: Path = ROOT) -> Fields:
    """The fields of the protos KFP's backend is built from, compiled from its source.

    SourceMissing (ci.airgap.kfp_source) when the source is not here or not the pinned one.
    """
    protos = kfp_source.read(repo_root, list(PROTO_FILES))
    with tempfile.TemporaryDirectory(prefix="kfp-protos-") as tmp:
        for relative, name in PROTO_FILES.items():
            Path(tmp, name).write_bytes(protos[relative])
        out = Path(tmp, "protos.binpb")
        protoc(
            [f"-I{tmp}", f"-I{_googleapis_include()}", "--include_imports",
             f"--descriptor_set_out={out}", *PROTO_FILES.values()],
            f"on {TARGET}'s protos",
        )  # fmt: skip
        compiled = descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes())
    # A pool of their own: the installed modules already put these file names in the default.
    pool = descriptor_pool.DescriptorPool()
    for file in compiled.file:  # --include_imports lists each file after its imports
        pool.AddSerializedFile(file.SerializeToString())
    return fields_of(pool.FindFileByName(name) for name in PROTO_FILES.values())


def version_problems(installed: Mapping[str, str]) -> list[str]:
    """A problem per distribution of :data:`SAME_PROTOS` *installed* at another version."""
    return [
        f"{name} {installed.get(name)} is installed, not {matched}, whose protos are"
        f" {TARGET}'s: with KFP's source here (${kfp_source.ENV} or"
        f" {kfp_source.default_location(ROOT)}), `python -m ci.validate.kfp_compat` compares"
        f" them; when it finds no difference, set SAME_PROTOS[{name!r}] ="
        f" {installed.get(name)!r} in ci/validate/kfp_compat.py"
        for name, matched in sorted(SAME_PROTOS.items())
        if installed.get(name) != matched
    ]


def differences(installed: Fields, source: Fields) -> list[str]:
    """Message types and fields the installed protos and the backend's do not share."""
    problems = []
    for name in sorted(installed.keys() | source.keys()):
        if name not in source:
            problems.append(f"message type {name} is installed, not in {TARGET}'s protos")
        elif name not in installed:
            problems.append(f"message type {name} is in {TARGET}'s protos, not installed")
        else:
            for fields, where in (
                (installed[name] - source[name], f"installed, not in {TARGET}'s protos"),
                (source[name] - installed[name], f"in {TARGET}'s protos, not installed"),
            ):
                if fields:
                    problems.append(f"{name}: {', '.join(sorted(fields))} {where}")
    return problems


@dataclass(frozen=True)
class Reference:
    """The fields the IR is checked against, where they come from, and what is wrong there."""

    known: Fields
    origin: str
    problems: list[str]


def reference(repo_root: Path = ROOT) -> Reference:
    """KFP 2.17.0's protos: from its source when that is here, else the installed ones."""
    installed = installed_fields()
    versions = installed_versions()
    problems = version_problems(versions)
    shown = " and ".join(f"{name} {version}" for name, version in sorted(versions.items()))
    try:
        source = source_fields(repo_root)
    except kfp_source.SourceMissing as missing:
        return Reference(
            installed,
            f"{shown} as installed, not compared with {TARGET}'s source"
            f" ({str(missing).removesuffix(': ' + kfp_source.how_to_get())})",
            problems,
        )
    return Reference(
        source,
        f"the protos of {kfp_source.locate(repo_root)}, compared with the installed {shown}",
        problems + [f"the installed protos differ: {p}" for p in differences(installed, source)],
    )


def unknown_fields(message: Message, known: Fields, where: str) -> list[str]:
    """Every field set anywhere in *message* that the target's protos lack, as a dotted path."""
    problems = []
    name = message.DESCRIPTOR.full_name
    if name.startswith("google.protobuf."):
        return []  # Struct, Value, …: free-form, and the same in every version
    if name not in known:
        return [f"{where}: message type {name} does not exist in {TARGET}"]
    for field, value in message.ListFields():
        path = f"{where}.{field.json_name}"
        if field.json_name not in known[name]:
            problems.append(f"{path}: field {name}.{field.json_name} does not exist in {TARGET}")
            continue
        if field.message_type is None:
            continue
        if field.message_type.GetOptions().map_entry:
            value_field = field.message_type.fields_by_name["value"]
            if value_field.message_type is not None:
                for key, item in value.items():
                    problems += unknown_fields(item, known, f"{path}[{key}]")
        elif field.is_repeated:
            for index, item in enumerate(value):
                problems += unknown_fields(item, known, f"{path}[{index}]")
        else:
            problems += unknown_fields(value, known, path)
    return problems


def _problems_as(doc: dict[str, Any], message: Message, known: Fields, where: str) -> list[str]:
    """What of *doc*, read as *message*, the target lacks.

    A field the installed protos lack stops the read, and protobuf's error names it: those
    protos are the target's (:func:`reference` reports it when they are not).
    """
    try:
        json_format.ParseDict(doc, message)
    except json_format.ParseError as error:
        # The first line names the field and where; the rest lists every field there is.
        return [f"{where}: not in {TARGET}'s protos: {str(error).splitlines()[0]}"]
    return unknown_fields(message, known, where)


def ir_problems(docs: list[dict[str, Any]], known: Fields) -> list[str]:
    """Fields of a compiled pipeline (its YAML documents) that *known* (the target) lacks."""
    from kfp.kubernetes import kubernetes_executor_config_pb2 as k8s_pb2
    from kfp.pipeline_spec import pipeline_spec_pb2

    problems = _problems_as(docs[0], pipeline_spec_pb2.PipelineSpec(), known, "pipelineSpec")
    # deploymentSpec is a Struct in PipelineSpec; the backend reads it as this message.
    problems += _problems_as(
        docs[0].get("deploymentSpec", {}),
        pipeline_spec_pb2.PipelineDeploymentConfig(),
        known,
        "deploymentSpec",
    )
    schema = docs[0].get("schemaVersion")
    if schema != SCHEMA_VERSION:
        problems.append(f"pipelineSpec.schemaVersion is {schema}; {TARGET} reads {SCHEMA_VERSION}")
    for doc in docs[1:]:
        problems += _problems_as(doc, pipeline_spec_pb2.PlatformSpec(), known, "platformSpec")
        executors = doc.get("platforms", {}).get("kubernetes", {})
        for name, config in executors.get("deploymentSpec", {}).get("executors", {}).items():
            problems += _problems_as(
                config,
                k8s_pb2.KubernetesExecutorConfig(),
                known,
                f"platformSpec.kubernetes.executors[{name}]",
            )
    return problems


def main() -> int:
    """Say where the field list comes from and print its problems; 0 when there are none."""
    found = reference()
    print(f"{TARGET}'s fields: {found.origin}")
    for problem in found.problems:
        print(f"FAIL {problem}")
    return 1 if found.problems else 0


if __name__ == "__main__":
    sys.exit(main())
