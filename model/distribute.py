"""What ``TF_CONFIG`` says about this process: is it distributed, and is it the chief.

A TFJob (Kubeflow's training operator) sets ``TF_CONFIG`` in every replica, e.g.
``{"cluster": {"chief": ["a:2222"], "worker": ["b:2222"]}, "task": {"type": "worker",
"index": 0}}``. Training runs with ``MultiWorkerMirroredStrategy`` when the cluster has more
than one worker, and only the chief exports. The decisions are plain functions over the
parsed JSON; only :func:`strategy` touches TensorFlow.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    import tensorflow as tf

# Task types MultiWorkerMirroredStrategy runs; "ps" (the original example's parameter
# servers) and "evaluator" belong to other strategies.
TRAINING_TASKS: Final = ("chief", "worker")


class TfConfigError(ValueError):
    """TF_CONFIG is not JSON, or describes a cluster this program cannot train in."""


def parse_tf_config(text: str | None) -> dict[str, Any]:
    """Parse the ``TF_CONFIG`` environment variable; unset or empty means ``{}``."""
    if not text or not text.strip():
        return {}
    try:
        config = json.loads(text)
    except ValueError as exc:
        raise TfConfigError(f"TF_CONFIG is not valid JSON ({exc}): {text!r}") from exc
    if not isinstance(config, dict):
        raise TfConfigError(f"TF_CONFIG must be a JSON object, got {text!r}")
    _validate(config)
    return config


def _validate(config: Mapping[str, Any]) -> None:
    cluster = config.get("cluster") or {}
    if not isinstance(cluster, dict):
        raise TfConfigError(f"TF_CONFIG cluster must be an object of task lists, got {cluster!r}")
    other = sorted(set(cluster) - set(TRAINING_TASKS))
    if other:
        raise TfConfigError(
            f"TF_CONFIG cluster has task types {other}; this program trains with"
            " MultiWorkerMirroredStrategy, which takes only 'chief' and 'worker' replicas"
            " (use Worker replicas instead of PS in the TFJob)"
        )
    if cluster:
        task = config.get("task") or {}
        kind, index = task.get("type"), task.get("index", 0)
        if kind not in cluster or not isinstance(index, int):
            raise TfConfigError(f"TF_CONFIG task {task!r} is not a task of the cluster {cluster}")
        if not 0 <= index < len(cluster[kind]):
            raise TfConfigError(
                f"TF_CONFIG task index {index} is out of range: the cluster has"
                f" {len(cluster[kind])} {kind!r} replicas"
            )


def worker_count(config: Mapping[str, Any]) -> int:
    """How many replicas train: chief plus workers, or 1 without a cluster."""
    cluster = config.get("cluster") or {}
    return max(1, sum(len(cluster.get(kind, [])) for kind in TRAINING_TASKS))


def is_chief(config: Mapping[str, Any]) -> bool:
    """Whether this process exports: the chief, or worker 0 of a cluster without a chief.

    Without a cluster (a plain run) the process is its own chief.
    """
    cluster = config.get("cluster") or {}
    if not cluster:
        return True
    task = config.get("task") or {}
    kind, index = task.get("type"), task.get("index", 0)
    if kind == "chief":
        return True
    return kind == "worker" and index == 0 and not cluster.get("chief")


def strategy(config: Mapping[str, Any]) -> tf.distribute.Strategy:
    """MultiWorkerMirroredStrategy for a cluster of several workers, else the default one."""
    import tensorflow as tf

    if worker_count(config) > 1:
        # The strategy reads TF_CONFIG itself; the parsed copy only decided that it is needed.
        return tf.distribute.MultiWorkerMirroredStrategy()
    return tf.distribute.get_strategy()
