"""Compile both pipeline variants and check the IR a KFP backend will receive.

Per variant: three tasks, train → serve → web-ui by data dependencies; on-prem the model
PVC mounted at /mnt in train and serve (and nowhere else), on GCP no PVC at all; every step
in the compiled-in image; caching off; and every field known to the KFP 2.17.0 backend
(:mod:`ci.validate.kfp_compat`).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any, Final

import yaml

from ci.validate import kfp_compat
from kubekit.constants import PIPELINE_STEPS, SERVE_STEP, TRAIN_STEP, WEB_UI_STEP

Doc = dict[str, Any]
DEPENDS_ON: Final = {TRAIN_STEP: [], SERVE_STEP: [TRAIN_STEP], WEB_UI_STEP: [SERVE_STEP]}
PVC_STEPS: Final = {"onprem": (TRAIN_STEP, SERVE_STEP), "gcp": ()}
CHECK_IMAGE: Final = "registry.example/mnist-e2e:check"


def compile_docs(platform: str, image: str = CHECK_IMAGE, gcp_secret: str = "") -> list[Doc]:
    """The YAML documents of the compiled *platform* pipeline (spec, then platform spec)."""
    from pipeline.compile import compile_pipeline

    with tempfile.TemporaryDirectory(prefix="mnist-ir-") as tmp:
        path = compile_pipeline(platform, Path(tmp, f"{platform}.yaml"), image, gcp_secret)
        return [doc for doc in yaml.safe_load_all(path.read_text("utf-8")) if doc]


def executors(docs: list[Doc]) -> dict[str, Doc]:
    """Task name → its executor's Kubernetes platform config ({} when none)."""
    spec = docs[0]
    platform = docs[1] if len(docs) > 1 else {}
    configs = platform.get("platforms", {}).get("kubernetes", {}).get("deploymentSpec", {})
    tasks = spec["root"]["dag"]["tasks"]
    return {
        name: configs.get("executors", {}).get(
            spec["components"][task["componentRef"]["name"]]["executorLabel"], {}
        )
        for name, task in tasks.items()
    }


def structure_problems(docs: list[Doc], platform: str, image: str = CHECK_IMAGE) -> list[str]:
    """What is wrong with the compiled *platform* pipeline's tasks, order, mounts and images."""
    problems = []
    tasks = docs[0]["root"]["dag"]["tasks"]
    if sorted(tasks) != sorted(PIPELINE_STEPS):
        return [f"tasks are {sorted(tasks)}, expected {list(PIPELINE_STEPS)}"]
    for name, needs in DEPENDS_ON.items():
        if sorted(tasks[name].get("dependentTasks", [])) != needs:
            problems.append(
                f"task {name} depends on {tasks[name].get('dependentTasks', [])}, expected {needs}"
            )
        if tasks[name].get("cachingOptions", {}).get("enableCache"):
            problems.append(f"task {name} is cached; every run must train and deploy")
    for name, config in executors(docs).items():
        mounts = config.get("pvcMount", [])
        wanted = name in PVC_STEPS[platform]
        paths = [m.get("mountPath") for m in mounts]
        if wanted and paths != ["/mnt"]:
            problems.append(f"task {name} mounts the PVC at {paths}, expected ['/mnt']")
        if wanted and any(
            m.get("pvcNameParameter", {}).get("componentInputParameter") != "pvc_name"
            for m in mounts
        ):
            problems.append(f"task {name} does not mount the PVC named by the pvc_name parameter")
        if not wanted and mounts:
            problems.append(f"task {name} mounts {paths} on {platform}, expected no PVC")
    for label, executor in docs[0]["deploymentSpec"]["executors"].items():
        if executor["container"]["image"] != image:
            problems.append(f"{label} runs {executor['container']['image']}, expected {image}")
    return problems


def problems(reference: kfp_compat.Reference) -> list[str]:
    """Every problem with both compiled variants (the GCP one also with a key Secret), and
    with the protos *reference* read for the target backend."""
    found = [f"pipeline protos: {p}" for p in reference.problems]
    for platform, secret in (("onprem", ""), ("gcp", ""), ("gcp", "gcp-key")):
        docs = compile_docs(platform, gcp_secret=secret)
        where = f"pipeline {platform}{' with --gcp-secret' if secret else ''}: "
        found += [where + p for p in structure_problems(docs, platform)]
        found += [where + p for p in kfp_compat.ir_problems(docs, reference.known)]
    return found


def main() -> int:
    """Print the problems; 0 when there are none."""
    reference = kfp_compat.reference()
    found = problems(reference)
    for problem in found:
        print(f"FAIL {problem}")
    if not found:
        print(
            "ok pipeline: onprem and gcp compile; train → serve → web-ui; PVC only on-prem"
            f" (train, serve); every field known to {kfp_compat.TARGET} ({reference.origin})"
        )
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
