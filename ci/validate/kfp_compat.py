"""Will a KFP 2.5.0 backend accept our compiled pipeline? Check its fields against 2.5.0's.

KFP's Go backend unmarshals the pipeline spec and each task's Kubernetes config strictly:
a field its protos do not know fails every pod of the run ("unknown field
\\"pvcNameParameter\\" in kfp_kubernetes.PvcMount" is what SDK 2.16 IR does to a 2.2.0
backend). So every field the IR sets must exist in the protos of the backend we target.

``kfp_2_5_0_fields.json`` lists, per message type, the JSON field names of the protos KFP
2.5.0 was released with: kfp-pipeline-spec 0.6.0 (IR schema 2.1.0) and kfp-kubernetes
1.5.0, whose PvcMount already has ``pvcNameParameter`` (backend/sdk change #11770, in 2.5.0).
Regenerate it from those wheels, unpacked into one directory tree::

    pip download --no-deps -d /tmp/kfp250 kfp-pipeline-spec==0.6.0 kfp-kubernetes==1.5.0
    # unpack so that DIR/kfp/pipeline_spec/pipeline_spec_pb2.py and
    # DIR/kfp/kubernetes/kubernetes_executor_config_pb2.py exist (with empty __init__.py)
    python -m ci.validate.kfp_compat --generate DIR
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any, Final

from google.protobuf import json_format
from google.protobuf.message import Message

FIELDS_FILE: Final = Path(__file__).with_name("kfp_2_5_0_fields.json")
TARGET: Final = "KFP 2.5.0 (kfp-pipeline-spec 0.6.0, kfp-kubernetes 1.5.0)"

_GENERATOR = """
import json, sys
sys.path.insert(0, sys.argv[1])
from kfp.pipeline_spec import pipeline_spec_pb2
from kfp.kubernetes import kubernetes_executor_config_pb2

def walk(descriptor, out):
    if descriptor.full_name in out:
        return
    out[descriptor.full_name] = sorted(f.json_name for f in descriptor.fields)
    for nested in descriptor.nested_types:
        walk(nested, out)
    for field in descriptor.fields:
        if field.message_type is not None:
            walk(field.message_type, out)

out = {}
for module in (pipeline_spec_pb2, kubernetes_executor_config_pb2):
    assert module.__file__.startswith(sys.argv[1]), module.__file__
    for message in module.DESCRIPTOR.message_types_by_name.values():
        walk(message, out)
print(json.dumps({k: v for k, v in sorted(out.items()) if not k.startswith("google.")}, indent=1))
"""


def generate(old_protos: Path) -> dict[str, list[str]]:
    """The field names per message type of the protos under *old_protos*.

    Runs in a fresh interpreter so the old ``kfp`` modules never meet the installed ones.
    """
    result = subprocess.run(
        [sys.executable, "-c", _GENERATOR, str(old_protos.resolve())],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return json.loads(result.stdout)


def known_fields(path: Path = FIELDS_FILE) -> dict[str, set[str]]:
    """The committed field list, as sets."""
    return {name: set(fields) for name, fields in json.loads(path.read_text("utf-8")).items()}


def unknown_fields(message: Message, known: dict[str, set[str]], where: str) -> list[str]:
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


def ir_problems(docs: list[dict[str, Any]], known: dict[str, set[str]] | None = None) -> list[str]:
    """Fields of a compiled pipeline (its YAML documents) that a KFP 2.5.0 backend lacks."""
    from kfp.kubernetes import kubernetes_executor_config_pb2 as k8s_pb2
    from kfp.pipeline_spec import pipeline_spec_pb2

    known = known_fields() if known is None else known
    spec = json_format.ParseDict(docs[0], pipeline_spec_pb2.PipelineSpec())
    problems = unknown_fields(spec, known, "pipelineSpec")
    # deploymentSpec is a Struct in PipelineSpec; the backend reads it as this message.
    deployment = json_format.ParseDict(
        docs[0].get("deploymentSpec", {}), pipeline_spec_pb2.PipelineDeploymentConfig()
    )
    problems += unknown_fields(deployment, known, "deploymentSpec")
    if spec.schema_version != "2.1.0":
        problems.append(
            f"pipelineSpec.schemaVersion is {spec.schema_version}; {TARGET} reads 2.1.0"
        )
    for doc in docs[1:]:
        platform = json_format.ParseDict(doc, pipeline_spec_pb2.PlatformSpec())
        problems += unknown_fields(platform, known, "platformSpec")
        executors = doc.get("platforms", {}).get("kubernetes", {})
        for name, config in executors.get("deploymentSpec", {}).get("executors", {}).items():
            message = json_format.ParseDict(config, k8s_pb2.KubernetesExecutorConfig())
            problems += unknown_fields(message, known, f"platformSpec.kubernetes.executors[{name}]")
    return problems


def main(argv: list[str] | None = None) -> int:
    """Regenerate the field list from unpacked 2.5.0-era wheels."""
    parser = argparse.ArgumentParser(prog="python -m ci.validate.kfp_compat", description=__doc__)
    parser.add_argument("--generate", type=Path, required=True, metavar="DIR")
    args = parser.parse_args(argv)
    FIELDS_FILE.write_text(json.dumps(generate(args.generate), indent=1) + "\n", "utf-8")
    print(f"wrote {FIELDS_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
