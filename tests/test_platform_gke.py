"""The GKE platform: a missing or wrong kube context fails before anything is created, saying
what to set; missing tools or credentials skip; the bucket and parameters are per run."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
import yaml

from fixtures.config import HarnessConfig, OptionError
from fixtures.created import gcs_resources
from fixtures.created.clients import Clients, emulator_client
from fixtures.created.registry import resource_kind
from fixtures.kfp.kfp_api import KfpEndpoint
from fixtures.ledger import Ledger
from fixtures.phases import PhaseClock
from fixtures.platforms import checked, get_platform
from fixtures.platforms.base import PlatformUnavailable
from fixtures.platforms.cluster_base import ClusterRunFailed
from fixtures.platforms.gke import GkePlatform, missing_tools
from fixtures.tools import docker_images

RUN = "mnist-e2e-20261125t120000z-abcd"
GKE = {
    "kube_context": "gke_proj_us-central1_ci",
    "gcp_project": "proj",
    "registry": "us-docker.pkg.dev/proj/ci",
}


def gke(tmp_path: Path, **options: object) -> GkePlatform:
    config = HarnessConfig(platform="gke", artifacts_dir=tmp_path / "a", **{**GKE, **options})
    return GkePlatform(config, RUN, Ledger(tmp_path / "ledger.jsonl"), PhaseClock())


def tools(tmp_path: Path, *names: str) -> str:
    """A PATH holding executables of these names (only looked up, never run here)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for name in names:
        tool = bin_dir / name
        tool.write_text("#!/bin/sh\nexit 1\n")
        tool.chmod(tool.stat().st_mode | stat.S_IXUSR)
    return str(bin_dir)


def kubeconfig(tmp_path: Path, context: str) -> Path:
    path = tmp_path / "kubeconfig"
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:9"}}],
                "users": [{"name": "u", "user": {"token": "not-a-secret"}}],
                "contexts": [{"name": context, "context": {"cluster": "c", "user": "u"}}],
            }
        )
    )
    return path


def test_registry_finds_the_gke_platform() -> None:
    assert get_platform("gke") is GkePlatform


def test_missing_options_are_named_at_parse_time() -> None:
    with pytest.raises(OptionError) as caught:
        checked(HarnessConfig(platform="gke", kube_context="x"))
    assert "--platform gke needs --gcp-project, --registry" in str(caught.value)
    assert "MNIST_E2E_*" in str(caught.value)


def test_missing_tools_skip() -> None:
    assert "kubectl" in (missing_tools(build=True, which=lambda t: None) or "")
    problem = missing_tools(build=True, which=lambda t: "/x" if t == "kubectl" else None)
    assert problem is not None and "docker" in problem and "--image" in problem
    assert missing_tools(build=False, which=lambda t: "/x" if t == "kubectl" else None) is None


def test_a_context_not_in_the_kubeconfig_fails_saying_what_to_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", tools(tmp_path, "kubectl"))
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig(tmp_path, "gke_proj_us-central1_other")))
    subject = gke(tmp_path, image="us-docker.pkg.dev/proj/ci/mnist-e2e:0123456789ab")
    with pytest.raises(OptionError) as caught:
        subject.check_prerequisites()
    message = str(caught.value)
    assert "--kube-context 'gke_proj_us-central1_ci' is not a context" in message
    assert "gke_proj_us-central1_other" in message and "set --kube-context" in message
    assert subject.ledger.resources() == []


def test_no_kubeconfig_at_all_fails_saying_what_to_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", tools(tmp_path, "kubectl", "docker"))
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing"))
    with pytest.raises(
        OptionError, match="--kube-context 'gke_proj_us-central1_ci': no kubeconfig"
    ):
        gke(tmp_path).check_prerequisites()


def test_missing_application_default_credentials_skip(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", tools(tmp_path, "kubectl", "docker"))
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig(tmp_path, GKE["kube_context"])))
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "no-key.json"))
    with pytest.raises(PlatformUnavailable, match="no Google Application Default Credentials"):
        gke(tmp_path).check_prerequisites()


def test_bucket_and_parameters_are_per_run(tmp_path: Path) -> None:
    subject = gke(tmp_path, gcp_service_account="tf-serving@proj.iam.gserviceaccount.com")
    subject.image = "us-docker.pkg.dev/proj/ci/mnist-e2e:0123456789ab"
    assert subject.bucket == f"{RUN}-proj"
    parameters = subject.pipeline_parameters()
    assert parameters["model_export_dir"] == f"gs://{RUN}-proj/export"
    assert parameters["gcp_service_account"] == "tf-serving@proj.iam.gserviceaccount.com"
    assert parameters["namespace"] == RUN
    assert subject.export_uri() == f"gs://{RUN}-proj/export"


def test_kfp_endpoint_is_external_or_a_port_forward(tmp_path: Path) -> None:
    assert gke(tmp_path).kfp_endpoint() == KfpEndpoint(context=GKE["kube_context"], kubeconfig=None)
    external = gke(tmp_path, kfp_endpoint="https://kfp.example.com").kfp_endpoint()
    assert external.url == "https://kfp.example.com" and external.context is None


def test_e2e_run_errors_before_creating_anything_on_a_bad_context(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KUBECONFIG", str(pytester.path / "none"))
    pytester.makepyfile(test_story="def test_a_user_story(mnist_run):\n    pass\n")
    result = pytester.runpytest_inprocess(
        "-p",
        "fixtures.plugin",
        "-p",
        "fixtures.e2e_fixtures",
        "--platform",
        "gke",
        "--kube-context",
        "nope",
        "--gcp-project",
        "p",
        "--registry",
        "r.example/x",
        "--image",
        "r.example/x/mnist-e2e:1",
    )
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*--kube-context 'nope': no kubeconfig*", "*left nothing behind*"])


def test_e2e_run_without_gke_options_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_story="def test_a_user_story(mnist_run):\n    pass\n")
    result = pytester.runpytest_inprocess(
        "-p", "fixtures.plugin", "-p", "fixtures.e2e_fixtures", "--platform", "gke"
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*--platform gke needs --kube-context, --gcp-project, --registry*"]
    )


# -- the GKE rehearsal: --gcs-endpoint (docs/gke-rehearsal.md) -------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"platform": "kind"}, "--gcs-endpoint is for --platform gke, not 'kind'"),
        ({**GKE, "platform": "gke"}, "not an emulator on loopback"),
    ],
)
def test_a_gcs_endpoint_off_gke_or_off_loopback_is_an_option_error(
    options: dict[str, str], message: str
) -> None:
    with pytest.raises(OptionError, match=message):
        checked(HarnessConfig(gcs_endpoint="http://10.1.2.3:9023", **options))


def test_the_two_gcs_endpoints_go_together() -> None:
    with pytest.raises(OptionError, match="go together"):
        checked(HarnessConfig(platform="gke", gcs_endpoint="http://127.0.0.1:9023", **GKE))
    with pytest.raises(OptionError, match="is not http://ADDRESS:PORT"):
        checked(
            HarnessConfig(
                platform="gke",
                gcs_endpoint="http://127.0.0.1:9023",
                gcs_endpoint_in_cluster="172.18.0.9",
                **GKE,
            )
        )


def test_the_pods_emulator_address_goes_into_the_compiled_pipeline(tmp_path: Path) -> None:
    host = "http://172.18.0.9:9023"
    subject = gke(tmp_path, gcs_endpoint="http://127.0.0.1:9023", gcs_endpoint_in_cluster=host)
    checked(subject.config)
    assert subject.compile_options() == {"storage_emulator_host": host}
    assert gke(tmp_path).compile_options() == {}


def test_with_a_gcs_endpoint_no_google_credentials_are_needed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", tools(tmp_path, "kubectl", "docker"))
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig(tmp_path, GKE["kube_context"])))
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "no-key.json"))
    # Past the credentials check: the (absent) cluster is the next thing asked.
    with pytest.raises(ClusterRunFailed, match="does not answer"):
        gke(tmp_path, gcs_endpoint="http://127.0.0.1:9").check_prerequisites()


def test_the_bucket_step_on_an_emulator_creates_grants_and_teardown_deletes(
    tmp_path: Path, gcs_emulator: str
) -> None:
    gsa = "tf-serving@proj.iam.gserviceaccount.com"
    subject = gke(tmp_path, gcs_endpoint=gcs_emulator, gcp_service_account=gsa)
    subject._bucket()
    client = emulator_client(gcs_emulator, "proj")
    bucket = client.get_bucket(subject.bucket)
    # gcp-storage-emulator keeps only the name of a create request (the settings it sends are
    # checked in test_gcs_resources.py); docs/gke-rehearsal.md lists that gap.
    policy = bucket.get_iam_policy(requested_policy_version=3)
    assert any(
        b["role"] == gcs_resources.OBJECT_ADMIN and f"serviceAccount:{gsa}" in b["members"]
        for b in policy.bindings
    )
    bucket.blob("export/1/saved_model.pb").upload_from_string(b"x")
    (entry,) = subject.ledger.resources()
    assert entry.details == {"project": "proj", "endpoint": gcs_emulator}
    with Clients() as clients:
        recorded = resource_kind(entry)
        assert (
            recorded.delete(clients) == f"bucket {subject.bucket}: 1 objects and the bucket deleted"
        )
        assert recorded.still_there(clients) is None


def test_a_rehearsal_run_serves_with_the_stand_in_and_trains_on_the_sample(
    tmp_path: Path,
) -> None:
    subject = gke(
        tmp_path,
        gcs_endpoint="http://127.0.0.1:9023",
        gcs_endpoint_in_cluster="http://172.18.0.9:9023",
    )
    subject.image = "mnist-e2e:0123456789ab"
    parameters = subject.pipeline_parameters()
    assert parameters["serving_image"] == "mnist-e2e:0123456789ab"
    assert parameters["data_dir"] == ""
    assert subject.storage_env() == {"STORAGE_EMULATOR_HOST": "http://127.0.0.1:9023"}
    assert "serving_image" not in gke(tmp_path).pipeline_parameters()
    assert gke(tmp_path).storage_env() == {}


# -- --base-image: the gke run's own build on another base (the rehearsal's air-gapped one) --


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"platform": "kind"}, "--platform kind builds none that takes it: drop it"),
        ({"platform": "gke", **GKE, "image": "r/x:1"}, "--image names one already built"),
    ],
)
def test_a_base_image_without_a_gke_build_is_an_option_error(
    options: dict[str, str], message: str
) -> None:
    with pytest.raises(OptionError, match=message):
        checked(HarnessConfig(base_image="mnist-e2e/python-base:1", **options))


def test_the_gke_build_runs_and_plans_the_dockerfile_on_the_base_image(tmp_path: Path) -> None:
    platform = gke(tmp_path, base_image="mnist-e2e/python-base:1")
    argv = docker_images.build_argv("r/mnist-e2e:1", tmp_path, "mnist-e2e/python-base:1")
    assert argv[argv.index("--build-arg") + 1] == "BASE_IMAGE=mnist-e2e/python-base:1"
    assert "--build-arg" not in docker_images.build_argv("r/mnist-e2e:1", tmp_path)
    image_step = next(s for s in platform.steps() if s.title == "the project image")
    assert any("--build-arg BASE_IMAGE=mnist-e2e/python-base:1" in line for line in image_step.does)
