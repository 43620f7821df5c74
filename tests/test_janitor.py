"""The janitor selects only what carries the harness's labels and is older than the TTL —
decided on real V1Namespace / V1PersistentVolume, GCS Bucket and KFP run objects."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from google.auth.credentials import AnonymousCredentials
from google.cloud import storage
from kfp_server_api import V2beta1Experiment, V2beta1Run
from kubernetes.client import V1Namespace, V1ObjectMeta, V1PersistentVolume, V1PersistentVolumeClaim

from fixtures import janitor
from fixtures.kfp.kfp_api import marker
from fixtures.naming import gcs_labels, new_run_id
from kubekit.constants import run_labels

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
TTL = timedelta(hours=6)
OLD_RUN = new_run_id(NOW - timedelta(hours=9), "aaaa")
NEW_RUN = new_run_id(NOW - timedelta(hours=1), "bbbb")


def namespace(name: str, labels: dict[str, str] | None, age: timedelta | None) -> V1Namespace:
    created = NOW - age if age is not None else None
    return V1Namespace(metadata=V1ObjectMeta(name=name, labels=labels, creation_timestamp=created))


def test_namespaces_need_both_labels_and_the_age() -> None:
    items = [
        namespace(OLD_RUN, run_labels(OLD_RUN), timedelta(hours=9)),  # selected
        namespace(NEW_RUN, run_labels(NEW_RUN), timedelta(hours=1)),  # too young
        namespace("mnist-e2e-lookalike", None, timedelta(days=3)),  # no labels at all
        namespace(
            "theirs",
            {"app.kubernetes.io/managed-by": "helm", "mnist-e2e/run-id": "x"},
            timedelta(days=3),
        ),
        namespace(
            "half", {"app.kubernetes.io/managed-by": "mnist-e2e"}, timedelta(days=3)
        ),  # no run id
        namespace("undated", run_labels(OLD_RUN), None),  # age unknown: never guessed
    ]
    selected = janitor.select_kube("namespace", items, NOW, TTL)
    assert [(c.name, c.run_id) for c in selected] == [(OLD_RUN, OLD_RUN)]
    assert selected[0].age == timedelta(hours=9)
    assert "9.0h old" in selected[0].describe()


def test_volumes_and_claims_are_selected_by_label_too() -> None:
    old = NOW - timedelta(hours=7)
    pv = V1PersistentVolume(
        metadata=V1ObjectMeta(
            name="mnist-model-1-serving", labels=run_labels(OLD_RUN), creation_timestamp=old
        )
    )
    stranger = V1PersistentVolume(metadata=V1ObjectMeta(name="pvc-123", creation_timestamp=old))
    claim = V1PersistentVolumeClaim(
        metadata=V1ObjectMeta(
            name=f"model-{OLD_RUN}",
            namespace="kubeflow",
            labels=run_labels(OLD_RUN),
            creation_timestamp=old,
        )
    )
    assert [c.name for c in janitor.select_kube("persistentvolume", [pv, stranger], NOW, TTL)] == [
        "mnist-model-1-serving"
    ]
    (selected,) = janitor.select_kube("persistentvolumeclaim", [claim], NOW, TTL)
    assert selected.details == {"namespace": "kubeflow"}
    assert "in kubeflow" in selected.describe()


def bucket(name: str, labels: dict[str, str], age: timedelta) -> storage.Bucket:
    client = storage.Client(project="p", credentials=AnonymousCredentials())
    created = (NOW - age).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    found = storage.Bucket(client, name)
    found._set_properties({"name": name, "labels": labels, "timeCreated": created})  # as listed
    return found


def test_buckets_need_the_gcs_labels_and_the_age() -> None:
    buckets = [
        bucket(f"{OLD_RUN}-p", gcs_labels(OLD_RUN), timedelta(hours=8)),
        bucket(f"{NEW_RUN}-p", gcs_labels(NEW_RUN), timedelta(hours=2)),
        bucket("mnist-e2e-prod-models", {}, timedelta(days=300)),
        bucket("other", {"managed-by": "terraform", "mnist-e2e-run-id": "x"}, timedelta(days=30)),
    ]
    selected = janitor.select_buckets(buckets, NOW, TTL)
    assert [(c.kind, c.name, c.run_id) for c in selected] == [("bucket", f"{OLD_RUN}-p", OLD_RUN)]


def kfp_run(
    name: str, description: str | None, age: timedelta, state: str = "RUNNING"
) -> V2beta1Run:
    return V2beta1Run(
        run_id=f"id-{name}",
        display_name=name,
        description=description,
        created_at=NOW - age,
        state=state,
    )


def test_kfp_runs_need_the_marker_and_their_run_id_as_name() -> None:
    runs = [
        kfp_run(OLD_RUN, marker(OLD_RUN), timedelta(hours=10)),
        kfp_run(NEW_RUN, marker(NEW_RUN), timedelta(hours=1)),
        kfp_run("nightly-training", None, timedelta(days=5)),
        kfp_run(
            "renamed-by-someone", marker(OLD_RUN), timedelta(days=5)
        ),  # marker but not its name
    ]
    (selected,) = janitor.select_kfp("kfp-run", runs, NOW, TTL)
    assert (selected.name, selected.details["id"], selected.details["state"]) == (
        OLD_RUN,
        f"id-{OLD_RUN}",
        "RUNNING",
    )


def test_kfp_experiments_are_selected_the_same_way() -> None:
    experiments = [
        V2beta1Experiment(
            experiment_id="e1",
            display_name=OLD_RUN,
            description=marker(OLD_RUN),
            created_at=NOW - timedelta(hours=7),
        ),
        V2beta1Experiment(
            experiment_id="e2",
            display_name="Default",
            description="",
            created_at=NOW - timedelta(days=90),
        ),
    ]
    (selected,) = janitor.select_kfp("kfp-experiment", experiments, NOW, TTL)
    assert selected.details == {"id": "e1"}


def test_node_directories_are_dated_by_their_run_id_name() -> None:
    names = [OLD_RUN, NEW_RUN, "lost+found", "mnist-e2e-not-a-run"]
    selected = janitor.select_node_dirs(names, NOW, TTL, "node-1", "/var/local/mnist-e2e")
    assert [(c.name, c.details["node"]) for c in selected] == [
        (f"/var/local/mnist-e2e/{OLD_RUN}", "node-1")
    ]


def test_the_rehearsals_containers_are_dated_by_their_run_id_label() -> None:
    rows = [f"{OLD_RUN}-gcs\t{OLD_RUN}", f"{NEW_RUN}-registry\t{NEW_RUN}", "decoy\tsomething"]
    (selected,) = janitor.select_containers(rows, NOW, TTL)
    assert (selected.kind, selected.name, selected.run_id) == (
        "docker-container",
        f"{OLD_RUN}-gcs",
        OLD_RUN,
    )
    entry = selected.resource(janitor.Where("kind-x", {"context": "kind-x"}))
    assert (entry.kind, entry.name) == ("docker-container", f"{OLD_RUN}-gcs")


def test_a_ttl_of_zero_takes_everything_labelled_however_young() -> None:
    """``--older-than 0s`` after a killed harness: what it made a moment ago (age 0 in KFP's
    and the run id's whole seconds, or "in the future" by a clock a little ahead of ours) is
    taken; what has no date is still never guessed, what has no labels never touched."""
    zero = timedelta(0)
    just_now = new_run_id(NOW, "cccc")
    items = [
        namespace(just_now, run_labels(just_now), zero),
        namespace(f"{just_now}-ahead", run_labels(just_now), -timedelta(seconds=2)),
        namespace(OLD_RUN, run_labels(OLD_RUN), timedelta(hours=9)),
        namespace("undated", run_labels(just_now), None),
        namespace(f"{just_now}-decoy", {"mnist-e2e/run-id": just_now}, zero),
    ]
    selected = janitor.select_kube("namespace", items, NOW, zero)
    assert [(c.name, c.age) for c in selected] == [
        (just_now, zero),
        (f"{just_now}-ahead", zero),
        (OLD_RUN, timedelta(hours=9)),
    ]
    (run,) = janitor.select_kfp("kfp-run", [kfp_run(just_now, marker(just_now), zero)], NOW, zero)
    assert run.name == just_now
    assert [c.run_id for c in janitor.select_node_dirs([just_now], NOW, zero, "n", "/d")] == [
        just_now
    ]
    assert [c.run_id for c in janitor.select_containers([f"c\t{just_now}"], NOW, zero)] == [
        just_now
    ]
    # a positive TTL still spares the young
    assert janitor.select_kube("namespace", items[:1], NOW, timedelta(seconds=1)) == []


def test_what_is_selected_is_deleted_by_the_run_teardown_in_its_order() -> None:
    from fixtures.created import teardown_plan

    where = janitor.Where("kind-x", {"context": "kind-x"})
    candidates = [
        janitor.Candidate("node-dir", "/d", OLD_RUN, TTL, {"node": "n", "path": "/d"}),
        janitor.Candidate("namespace", "a", OLD_RUN, TTL),
        janitor.Candidate("persistentvolume", "pv", OLD_RUN, TTL),
        janitor.Candidate("kfp-run", "r", OLD_RUN, TTL, {"id": "r1"}),
        janitor.Candidate("namespace", "older", OLD_RUN, TTL * 2),
        janitor.Candidate("persistentvolumeclaim", "c", OLD_RUN, TTL, {"namespace": "kubeflow"}),
        janitor.Candidate("persistentvolumeclaim", "in-a", OLD_RUN, TTL, {"namespace": "a"}),
        janitor.Candidate("pod", "step", OLD_RUN, TTL, {"namespace": "kubeflow"}),
    ]
    actions = teardown_plan.plan([c.resource(where) for c in candidates])
    assert [(a.verb, a.item.name) for a in actions] == [
        ("delete", "r"),
        ("delete", "Pod kubeflow/step"),  # newer than the claim it may hold: first
        ("skip", "PersistentVolumeClaim a/in-a"),  # goes with namespace a
        ("delete", "PersistentVolumeClaim kubeflow/c"),
        ("delete", "older"),
        ("delete", "a"),
        ("delete", "PersistentVolume pv"),
        ("delete", "/d"),
    ]
    kfp_run = next(a.item for a in actions if a.item.name == "r")
    assert kfp_run.details == {"id": "r1", "endpoint": {"context": "kind-x"}}


def parse(*argv: str):
    from fixtures.__main__ import build_parser

    return build_parser().parse_args(["janitor", *argv])


@pytest.mark.parametrize(
    ("text", "seconds"), [("6h", 21600), ("90m", 5400), ("3600", 3600), ("0s", 0), ("0", 0)]
)
def test_older_than_takes_durations(text: str, seconds: int) -> None:
    assert parse("--platform", "kind", "--older-than", text).older_than == seconds


def test_the_janitor_takes_the_harness_options_and_their_env_twins(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MNIST_E2E_KIND_CLUSTER", "from-env")
    args = parse("--platform", "kind", "--older-than", "6h")
    assert (args.mnist_kind_cluster, args.mnist_kube_context) == ("from-env", None)


def test_bad_ttl_and_missing_gke_context_are_usage_errors(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from fixtures.__main__ import main

    monkeypatch.delenv("MNIST_E2E_KUBE_CONTEXT", raising=False)
    with pytest.raises(SystemExit):
        main(["janitor", "--platform", "kind", "--older-than", "soon"])
    assert "--older-than 'soon' is not a duration" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["janitor", "--platform", "kind", "--older-than=-1s"])
    assert "--older-than '-1s' must be zero or more" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["janitor", "--platform", "gke", "--older-than", "6h"])
    assert "--platform gke needs --kube-context" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["janitor", "--platform", "local", "--older-than", "6h"])
    assert "--platform 'local' is not one of kind, gke" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["janitor", "--older-than", "6h"])  # no default platform to reject later
    assert "--platform is required: one of kind, gke" in capsys.readouterr().err


def test_kind_without_kind_has_nothing_to_clean(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    from fixtures.__main__ import main

    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("MNIST_E2E_KUBE_CONTEXT", raising=False)
    assert main(["janitor", "--platform", "kind", "--older-than", "6h", "--dry-run"]) == 0
    assert "kind is not installed" in capsys.readouterr().out


def test_kind_airgap_without_the_build_is_an_error_not_nothing_to_clean(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    from fixtures.__main__ import main

    monkeypatch.setenv("MNIST_E2E_CACHE", str(tmp_path))  # no manifest there
    monkeypatch.delenv("MNIST_E2E_KUBE_CONTEXT", raising=False)
    with pytest.raises(SystemExit) as exited:
        main(["janitor", "--platform", "kind", "--airgap", "--older-than", "0s", "--dry-run"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "tox -e airgap" in err and "nothing to clean" not in err, err


def test_the_janitor_lists_only_the_containers_beside_the_cluster_it_cleans(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from fixtures.config import HarnessConfig
    from fixtures.tools import commands

    asked: list[list[str]] = []
    monkeypatch.setattr(commands, "run", lambda what, argv, **kw: asked.append(argv) or "")
    config = HarnessConfig(platform="kind", kube_context="kind-tier-1")
    with janitor.Janitor(config, older_than=0) as cleaner:
        assert cleaner._find_containers() == []
    assert "label=mnist-e2e/kind-cluster=tier-1" in asked[0]
