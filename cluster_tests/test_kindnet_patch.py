"""The kindnet CPU-limit fix on a real API server: the JSON patch kindctl computes, sent by
kubekit's DaemonSet.patch, removes the limit and nothing else.

The air-gapped cluster runs no kindnet, so the DaemonSet is one made here, shaped like
kindnet's (a CPU and a memory limit), in a namespace of its own; it selects no node, so no
pod starts. Both are in the run's ledger: its teardown deletes them.
"""

from __future__ import annotations

import secrets

from fixtures.kind import kindctl
from fixtures.platforms.kind import KindPlatform
from kubekit.constants import run_labels
from kubekit.objects import DaemonSet
from tests.support import kfp_run_pods as pods


def test_kindnet_cpu_limit_is_removed_with_a_json_patch(run: KindPlatform) -> None:
    namespace = f"tier-kindnet-{secrets.token_hex(3)}"
    labels = run_labels(run.run_id)
    container = {
        "name": "kindnet-cni",
        "image": run.image,
        "imagePullPolicy": "Never",
        "command": ["sh", "-c", "sleep 600"],
        "resources": {"limits": {"cpu": "100m", "memory": "50Mi"}},
    }
    daemonset = {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": "kindnet", "namespace": namespace, "labels": labels},
        "spec": {
            "selector": {"matchLabels": {"app": "kindnet"}},
            "template": {
                "metadata": {"labels": {"app": "kindnet"}},
                "spec": {
                    "nodeSelector": {"mnist-e2e/no-such-node": "true"},  # no pod needed
                    "containers": [container],
                },
            },
        },
    }
    namespace_body = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": namespace, "labels": labels},
    }
    pods.apply(run, [namespace_body, daemonset])
    kindnet = DaemonSet(run.api(), "kindnet", namespace)
    patch = kindctl.kindnet_cpu_limit_patch(kindnet.read())
    assert patch == [
        {"op": "remove", "path": "/spec/template/spec/containers/0/resources/limits/cpu"}
    ]
    kindnet.patch(patch)  # the API server accepts it only as application/json-patch+json
    after = kindnet.read()
    limits = after.spec.template.spec.containers[0].resources.limits
    assert limits == {"memory": "50Mi"}, limits
    assert kindctl.kindnet_cpu_limit_patch(after) == []  # a second run has nothing to do
