"""The GKE rehearsal's driver (fixtures/rehearsal.py): what it starts and runs, and what it
records so teardown removes it; the run itself is `tox -e gke-rehearsal`."""

from __future__ import annotations

from pathlib import Path

import pytest

from fixtures import rehearsal
from fixtures.config import HarnessConfig
from fixtures.created import kind_resources
from fixtures.created.kind_resources import DockerContainer, DockerImageTags
from fixtures.created.registry import resource_kind
from fixtures.created.resource_kind import RANKS
from fixtures.ledger import Ledger
from fixtures.phases import PhaseClock
from fixtures.platforms import checked
from fixtures.platforms.kind import KindPlatform

RUN = "mnist-e2e-20261205t070000z-abcd"


def test_the_emulator_runs_on_kinds_network_published_on_loopback_only() -> None:
    argv = rehearsal.container_run_argv(f"{RUN}-gcs", "mnist-e2e/gcs-emulator:x", 9023, RUN, "c1")
    assert argv[argv.index("--network") + 1] == "kind"
    assert argv[argv.index("--publish") + 1] == "127.0.0.1::9023"
    assert argv[-1] == "mnist-e2e/gcs-emulator:x"
    assert f"mnist-e2e/run-id={RUN}" in argv
    assert "mnist-e2e/kind-cluster=c1" in argv  # the janitor cleaning c1 finds it by this


def test_the_suite_runs_as_gke_with_both_emulator_addresses(tmp_path: Path) -> None:
    argv = rehearsal.gke_pytest_argv(
        "c1",
        "127.0.0.1:4001",
        "mnist-e2e/python-base:abc",
        "http://127.0.0.1:4000",
        "http://172.18.0.5:9023",
        tmp_path / "junit.xml",
        tmp_path,
        ["-k", "export"],
    )
    flags = dict(zip(argv[4::2], argv[5::2], strict=False))
    assert argv[3:6] == ["e2e", "--platform", "gke"]
    assert flags["--kube-context"] == "kind-c1"
    assert flags["--gcs-endpoint"] == "http://127.0.0.1:4000"
    assert flags["--gcs-endpoint-in-cluster"] == "http://172.18.0.5:9023"
    # the gke platform builds and pushes the image itself, on the air-gapped base
    assert "--image" not in flags
    assert flags["--base-image"] == "mnist-e2e/python-base:abc"
    assert flags["--registry"] == "127.0.0.1:4001"
    assert argv[-2:] == ["-k", "export"]
    # the options pass the harness's own validation
    checked(
        HarnessConfig(
            platform="gke",
            kube_context=flags["--kube-context"],
            gcp_project=flags["--gcp-project"],
            registry=flags["--registry"],
            gcs_endpoint=flags["--gcs-endpoint"],
            gcs_endpoint_in_cluster=flags["--gcs-endpoint-in-cluster"],
            base_image=flags["--base-image"],
        )
    )


def test_the_emulator_container_is_torn_down_before_the_cluster_and_its_network(
    tmp_path: Path,
) -> None:
    ledger = Ledger(tmp_path / "ledger.jsonl")
    entry = DockerContainer.record(ledger, f"{RUN}-gcs", image="mnist-e2e/gcs-emulator:x")
    assert isinstance(resource_kind(entry), DockerContainer)
    order = list(RANKS)
    assert order.index("docker-container") < order.index("kind-cluster")
    assert order.index("docker-container") < order.index("docker-network")


def test_the_stand_up_is_the_kind_clusters_steps_without_a_run(tmp_path: Path) -> None:
    config = HarnessConfig(platform="kind", airgap=True, artifacts_dir=tmp_path)
    kind = KindPlatform(config, RUN, Ledger(tmp_path / "l.jsonl"), PhaseClock())
    titles = [step.title for step in kind.stand_up_steps()]
    assert len(titles) == 4
    assert titles[0] == "tools and docker" and "Kubeflow Pipelines" in titles[-1]
    # the node pulls the image from the rehearsal's registry: no kind load
    assert not any("namespace" in t or "pipeline" in t or "image" in t for t in titles)


def test_the_nodes_containerd_pulls_the_hosts_registry_name_from_kinds_network() -> None:
    import tomllib

    hosts = tomllib.loads(rehearsal.hosts_toml("172.18.0.7:5000"))
    assert hosts["server"] == "http://172.18.0.7:5000"
    assert hosts["host"]["http://172.18.0.7:5000"]["capabilities"] == ["pull", "resolve"]
    argv = rehearsal.write_hosts_toml_argv("c1-control-plane", "127.0.0.1:4001")
    assert argv[:4] == ["docker", "exec", "-i", "c1-control-plane"]
    assert "/etc/containerd/certs.d/127.0.0.1:4001/hosts.toml" in argv[-1]


def test_the_air_gapped_cluster_config_sets_containerds_config_path() -> None:
    import yaml

    config = yaml.safe_load(Path("ci/kind/cluster-airgap.yaml").read_text())
    patches = "\n".join(config["containerdConfigPatches"])
    assert f'config_path = "{rehearsal.CERTS_D}"' in patches


def test_the_gke_runs_image_tags_under_the_registrys_name_are_untagged(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The gke run tags its build ``127.0.0.1:PORT/mnist-e2e:SHA``; teardown untags every tag
    of that name (only the tags: the image stays under its own), and then finds none."""
    engine = {"127.0.0.1:4001/mnist-e2e:abc", "127.0.0.1:4001/mnist-e2e:def"}
    calls: list[list[str]] = []

    def run(what: str, argv: list[str], **kwargs: object) -> str:
        calls.append(argv)
        if argv[:3] == ["docker", "image", "ls"]:
            return "\n".join(sorted(t for t in engine if t.startswith(argv[-1] + ":")))
        assert argv[:2] == ["docker", "rmi"]
        engine.difference_update(argv[2:])
        return ""

    monkeypatch.setattr(kind_resources.commands, "run", run)
    entry = DockerImageTags.record(Ledger(tmp_path / "l.jsonl"), "127.0.0.1:4001/mnist-e2e")
    tags = resource_kind(entry)
    assert tags.still_there(None) is not None  # type: ignore[arg-type]  # no clients needed
    assert tags.delete(None) == "docker-image-tags 127.0.0.1:4001/mnist-e2e: removed 2"  # type: ignore[arg-type]
    assert tags.still_there(None) is None  # type: ignore[arg-type]
    assert engine == set() and ["docker", "rmi", "-f"] not in [c[:3] for c in calls]


def test_the_nodes_image_pulls_are_read_from_the_kubelets_start_up_latency_lines() -> None:
    def line(pod: str, start: str, end: str) -> str:
        return (
            'I1205 11:25:52.439210     675 pod_startup_latency_tracker.go:104] "Observed pod'
            f' startup duration" pod="{pod}" podStartSLOduration=4.4 podStartE2EDuration="4.4s"'
            ' podCreationTimestamp="2026-12-05 11:25:48 +0000 UTC"'
            f' firstStartedPulling="{start}" lastFinishedPulling="{end}"'
            ' observedRunningTime="2026-12-05 11:25:52.39 +0000 UTC m=+10.49"'
        )

    journal = "\n".join(
        [
            line(
                "kube-system/coredns-1",
                "0001-01-01 00:00:00 +0000 UTC",
                "0001-01-01 00:00:00 +0000 UTC",
            ),
            line(
                "run-ns/train-1",
                "2026-12-05 11:30:01.250000001 +0000 UTC",
                "2026-12-05 11:30:45.5 +0000 UTC",
            ),
        ]
    )
    assert rehearsal.image_pulls(journal) == [{"pod": "run-ns/train-1", "seconds": 44.2}]
