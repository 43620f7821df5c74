"""Tiny pipelines for the cluster tier's real Kubeflow Pipelines: compiled at test time with the
kfp SDK, submitted through the harness's KfpApi as its submit step does, their pods found by
the label KFP puts on a run's pods.

Each step is a container component running ``sh -c SCRIPT`` in an image already on the node
(the project image); its task is named after a step of the real pipeline (train, serve,
web-ui), since those are the names the harness's wait knows.

No ``from __future__ import annotations``: KFP reads a component's return annotation
(``dsl.ContainerSpec``) as an object.
"""

import secrets
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kfp import compiler, dsl
from kfp import kubernetes as kfp_kubernetes
from kfp.dsl.base_component import BaseComponent
from kubernetes.client import V1Pod

from fixtures.created.kfp_resources import KfpExperiment, KfpRun
from fixtures.kfp import classify
from fixtures.kfp.kfp_api import KfpApi, KfpEndpoint, pipeline_spec_from_yaml
from fixtures.ledger import Ledger
from fixtures.naming import new_run_id
from kubekit.constants import KFP_RUN_LABEL, PIPELINE_NAMESPACE, label_selector
from kubekit.exceptions import NotReady
from kubekit.objects import Pod
from kubekit.wait import wait_until

# A tag no one built: with pull policy Never the kubelet answers ErrImageNeverPull at once.
NOT_ON_THE_NODE = "mnist-e2e/not-built-anywhere:0"


@dataclass(frozen=True)
class Shell:
    """One step: ``sh -c script`` in *image*; *pull_never* sets kfp-kubernetes' pull policy,
    *memory_limit* the step container's (``256M``)."""

    name: str
    image: str
    script: str
    pull_never: bool = False
    memory_limit: str | None = None


def _component(step: Shell) -> BaseComponent:
    def body() -> dsl.ContainerSpec:
        return dsl.ContainerSpec(image=step.image, command=["sh", "-c", step.script])

    body.__name__ = body.__qualname__ = step.name.replace("-", "_")
    return dsl.container_component(body)


def pipeline_spec(name: str, steps: Sequence[Shell]) -> dict[str, Any]:
    """The run body of a pipeline *name* whose *steps* run one after the other, uncached."""
    components = [_component(step) for step in steps]

    @dsl.pipeline(name=name)
    def tiny() -> None:
        previous = None
        for step, component in zip(steps, components, strict=True):
            task = component()
            task.set_display_name(step.name)
            task.set_caching_options(False)  # every run must really run
            if step.pull_never:
                kfp_kubernetes.set_image_pull_policy(task, "Never")
            if step.memory_limit:
                task.set_memory_limit(step.memory_limit)
            if previous is not None:
                task.after(previous)
            previous = task

    with tempfile.TemporaryDirectory(prefix="tier-pipeline-") as scratch:
        path = Path(scratch, f"{name}.yaml")
        compiler.Compiler().compile(tiny, str(path))
        return pipeline_spec_from_yaml(path.read_text(encoding="utf-8"))


def pipeline_name(prefix: str) -> str:
    """A pipeline (and so an Argo workflow) name of its own."""
    return f"tier-{prefix}-{secrets.token_hex(2)}"


@dataclass(frozen=True)
class Submitted:
    """A run submitted to KFP: the harness run id it is named after and KFP's run id."""

    run_id: str
    kfp_run_id: str
    experiment_id: str


def submit(kfp: KfpApi, ledger: Ledger, endpoint: KfpEndpoint, spec: dict[str, Any]) -> Submitted:
    """Create a marked experiment and run as ``submit_step`` does, each recorded in *ledger*
    the moment it exists (its teardown terminates and deletes them).

    The tier passes the cluster's ledger: KFP's objects go with the cluster. A ledger torn
    down after the cluster is gone would wait on a port-forward to nothing for each of them.
    """
    run_id = new_run_id()
    experiment = kfp.create_experiment(run_id)
    KfpExperiment.record(ledger, run_id, id=experiment.experiment_id, endpoint=endpoint.to_dict())
    created = kfp.create_run(experiment.experiment_id, run_id, spec, {})
    KfpRun.record(ledger, run_id, id=created.run_id, endpoint=endpoint.to_dict())
    return Submitted(run_id, created.run_id, experiment.experiment_id)


def submit_steps(cluster: Any, kfp: KfpApi, prefix: str, *steps: Shell) -> str:
    """Compile *steps* as a pipeline and submit it, recorded in the *cluster* platform's
    ledger (KFP's objects go with the cluster); KFP's run id."""
    spec = pipeline_spec(pipeline_name(prefix), steps)
    return submit(kfp, cluster.ledger, cluster.kfp_endpoint(), spec).kfp_run_id


def run_pods(api: Any, kfp_run_id: str) -> list[V1Pod]:
    """The pods KFP made for the run (labelled ``pipeline/runid``)."""
    return Pod.list(
        api, PIPELINE_NAMESPACE, label_selector=label_selector({KFP_RUN_LABEL: kfp_run_id})
    )


def wait_for_run_pod(
    api: Any,
    kfp_run_id: str,
    what: str,
    holds: Callable[[V1Pod], bool],
    *,
    timeout: float = 300,
) -> V1Pod:
    """The first of the run's pods for which ``holds(pod)``; a timeout says *what* and the pods."""

    def check() -> V1Pod:
        pods = run_pods(api, kfp_run_id)
        found = [p for p in pods if holds(p)]
        if not found:
            seen = ", ".join(f"{p.metadata.name} {p.status.phase}" for p in pods) or "none"
            raise NotReady(f"no pod of KFP run {kfp_run_id} {what}; pods: {seen}")
        return found[0]

    return wait_until(f"a pod of KFP run {kfp_run_id} {what}", check, timeout=timeout)


def is_executor_of(step: str) -> Callable[[V1Pod], bool]:
    """Does the pod run *step*'s container (not its driver): its Argo node is the step's."""

    # KFP 2.17 names the executor's Argo node "…<step>(0).executor(0)", its driver's
    # "…<step>-driver(0)": classify reads the task from that annotation.
    return lambda pod: classify.task_of_pod(pod) in (step, f"{step}(0)")
