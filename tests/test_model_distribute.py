"""model.distribute: what TF_CONFIG decides (distributed or not, chief or not), as pure functions."""

from __future__ import annotations

import json

import pytest

from model.distribute import TfConfigError, is_chief, parse_tf_config, worker_count

CHIEF_AND_WORKERS = {"chief": ["c:2222"], "worker": ["w0:2222", "w1:2222"]}
WORKERS_ONLY = {"worker": ["w0:2222", "w1:2222"]}


def _config(cluster: dict, kind: str, index: int) -> dict:
    return parse_tf_config(json.dumps({"cluster": cluster, "task": {"type": kind, "index": index}}))


@pytest.mark.parametrize("text", [None, "", "  ", "{}"])
def test_no_tf_config_is_a_single_chief(text) -> None:
    config = parse_tf_config(text)

    assert config == {}
    assert is_chief(config)
    assert worker_count(config) == 1


@pytest.mark.parametrize(
    ("cluster", "kind", "index", "chief"),
    [
        (CHIEF_AND_WORKERS, "chief", 0, True),
        (CHIEF_AND_WORKERS, "worker", 0, False),  # the chief is someone else
        (CHIEF_AND_WORKERS, "worker", 1, False),
        (WORKERS_ONLY, "worker", 0, True),  # no chief: worker 0 takes its role
        (WORKERS_ONLY, "worker", 1, False),
        ({"worker": ["only:2222"]}, "worker", 0, True),
    ],
)
def test_who_is_chief(cluster, kind, index, chief) -> None:
    assert is_chief(_config(cluster, kind, index)) is chief


@pytest.mark.parametrize(
    ("cluster", "count"),
    [(CHIEF_AND_WORKERS, 3), (WORKERS_ONLY, 2), ({"worker": ["only:2222"]}, 1)],
)
def test_worker_count_decides_whether_training_is_distributed(cluster, count) -> None:
    assert worker_count(_config(cluster, "worker", 0)) == count


def test_a_missing_task_index_means_zero() -> None:
    config = parse_tf_config(json.dumps({"cluster": WORKERS_ONLY, "task": {"type": "worker"}}))

    assert is_chief(config)


def test_invalid_json_is_reported_with_the_text() -> None:
    with pytest.raises(TfConfigError, match=r"TF_CONFIG is not valid JSON .*'\{cluster'"):
        parse_tf_config("{cluster")


def test_a_json_list_is_rejected() -> None:
    with pytest.raises(TfConfigError, match="must be a JSON object"):
        parse_tf_config("[]")


def test_parameter_servers_are_rejected_with_the_fix() -> None:
    with pytest.raises(TfConfigError, match=r"task types \['ps'\].*Worker replicas instead of PS"):
        _config({"ps": ["p:2222"], "worker": ["w:2222"]}, "worker", 0)


def test_a_task_outside_the_cluster_is_rejected() -> None:
    with pytest.raises(TfConfigError, match="is not a task of the cluster"):
        _config(WORKERS_ONLY, "chief", 0)


def test_an_index_out_of_range_is_rejected() -> None:
    with pytest.raises(TfConfigError, match="task index 2 is out of range: the cluster has 2"):
        _config(WORKERS_ONLY, "worker", 2)
