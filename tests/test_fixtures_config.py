"""Options are validated while the command line is parsed, before anything is created."""

import pytest

from fixtures.config import DEFAULT_MIN_ACCURACY, HarnessConfig, OptionError
from fixtures.platforms import checked

PROBE = """
def test_probe(harness_config):
    print("CONFIG", harness_config.platform, harness_config.train_steps,
          harness_config.model_type, harness_config.min_accuracy, harness_config.keep)
"""


@pytest.fixture
def probe(pytester):
    pytester.makepyfile(test_probe=PROBE)
    return pytester


def _run(pytester, *args):
    return pytester.runpytest("-p", "fixtures.plugin", "-p", "fixtures.e2e_fixtures", "-s", *args)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--platform", "kinde"], "--platform 'kinde' is not one of local, kind, gke"),
        (["--train-steps", "0"], "--train-steps '0' is not a whole number >= 1"),
        (["--train-steps", "many"], "--train-steps 'many' is not a whole number >= 1"),
        (["--model-type", "rnn"], "--model-type 'rnn' is not one of cnn, linear"),
        (["--min-accuracy", "1.5"], "--min-accuracy '1.5' is not a number in (0, 1.0]"),
        (["--num-digits", "100"], "--num-digits '100' is not a whole number >= 500"),
        (["--local-storage", "s3"], "--local-storage 's3' is not one of gcs, pvc"),
        (["--wait-timeout", "soon"], "--wait-timeout 'soon' is not a duration"),
        (["--if-unavailable", "ignore"], "--if-unavailable 'ignore' is not one of fail, skip"),
        (
            ["--phase-budget", "trian=1s"],
            "--phase-budget 'trian=1s': 'trian' is not a phase; the phases are provision, train,"
            " serve-ready, ui-ready, assertions, teardown",
        ),
        (
            ["--phase-budget", "train=fast"],
            "--phase-budget 'train=fast': 'fast' is not a duration like 90, 90s, 15m or 6h",
        ),
        (["--phase-budget", "train=0s"], "'0s' must be positive: a duration like 90, 90s"),
        (["--wait-timeout", "0"], "--wait-timeout '0' must be positive: a duration like 90"),
        (["--phase-budget", "train"], "--phase-budget 'train' is not PHASE=DURATION"),
        (["--phase-budget", "train=1s,train=2s"], "gives 'train' twice"),
        (["--history-runs", "0"], "--history-runs '0' is not a whole number >= 1"),
        (["--accuracy-margin", "-1"], "--accuracy-margin '-1' is not a number in (0, 1.0]"),
    ],
)
def test_bad_values_fail_at_parse_time_naming_the_option(probe, args, message):
    result = _run(probe, *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*{message}*"])
    assert not (probe.path / "artifacts").exists(), "nothing may be created on bad options"


def test_env_twins_set_defaults(probe, monkeypatch):
    monkeypatch.setenv("MNIST_E2E_TRAIN_STEPS", "20")
    monkeypatch.setenv("MNIST_E2E_MODEL_TYPE", "linear")
    monkeypatch.setenv("MNIST_E2E_KEEP", "1")
    result = _run(probe)
    result.stdout.fnmatch_lines([f"*CONFIG local 20 linear {DEFAULT_MIN_ACCURACY['linear']} True"])


def test_flags_beat_env_twins(probe, monkeypatch):
    monkeypatch.setenv("MNIST_E2E_TRAIN_STEPS", "20")
    result = _run(probe, "--train-steps", "30", "--min-accuracy", "0.5")
    result.stdout.fnmatch_lines(["*CONFIG local 30 cnn 0.5 False"])


def test_a_bad_env_twin_is_named(probe, monkeypatch):
    monkeypatch.setenv("MNIST_E2E_PLATFORM", "minikube")
    result = _run(probe)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*'minikube' is not one of local, kind, gke (from env MNIST_E2E_PLATFORM)*"]
    )


def test_gke_without_its_settings_fails_before_anything_is_created(probe):
    result = _run(probe, "--platform", "gke")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*--platform gke needs --kube-context, --gcp-project, --registry*"]
    )


BUDGETS = """
def test_probe(harness_config):
    print("BUDGETS", sorted(harness_config.phase_budget.items()), harness_config.fail_on_budget)
    print("HISTORY", harness_config.history_file())
"""


def test_phase_budgets_name_phases_as_the_table_does_or_with_dashes(pytester):
    pytester.makepyfile(test_probe=BUDGETS)
    result = _run(pytester, "--phase-budget", "train=2m, serve-ready=30,ui_ready=1.5s")
    expected = "BUDGETS [('serve ready', 30.0), ('train', 120.0), ('ui ready', 1.5)] False"
    assert expected in result.stdout.str()


def test_the_history_file_defaults_into_the_artifacts_and_can_be_moved_or_dropped(
    pytester, monkeypatch
):
    pytester.makepyfile(test_probe=BUDGETS)
    _run(pytester).stdout.fnmatch_lines([f"*HISTORY {pytester.path}/artifacts/history.sqlite"])
    monkeypatch.setenv("MNIST_E2E_HISTORY", "ci-cache/runs.sqlite")
    _run(pytester).stdout.fnmatch_lines([f"*HISTORY {pytester.path}/ci-cache/runs.sqlite"])
    _run(pytester, "--no-history").stdout.fnmatch_lines(["*HISTORY None"])


def test_missing_data_dir_is_rejected(tmp_path):
    with pytest.raises(OptionError, match=r"--data-dir .* is not a directory"):
        checked(HarnessConfig(data_dir=tmp_path / "nope"))


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("/proc/forbidden", "--artifacts-dir '/proc/forbidden' cannot be created"),
        ("a-file", "is a file, not a directory"),
        ("a-file/below", "cannot be created: * is a file"),
    ],
)
def test_an_unusable_artifacts_dir_fails_at_parse_time_naming_the_option(probe, where, message):
    (probe.path / "a-file").write_text("not a directory")
    result = _run(probe, "--artifacts-dir", where)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*{message}*MNIST_E2E_ARTIFACTS_DIR*"])
    assert "Traceback" not in result.stdout.str() + result.stderr.str()
    assert not list(probe.path.glob(".mnist-e2e-probe-*")), "the check must leave nothing"


def test_a_new_artifacts_dir_is_checked_without_being_created(probe):
    result = _run(probe, "--artifacts-dir", "new/artifacts")
    result.stdout.fnmatch_lines(["*CONFIG local*"])
    assert not list(probe.path.rglob(".mnist-e2e-probe-*"))


def test_a_data_dir_without_mnist_is_rejected_naming_the_missing_files(tmp_path):
    (tmp_path / "t10k-images-idx3-ubyte.gz").write_bytes(b"")
    with pytest.raises(OptionError) as raised:
        checked(HarnessConfig(data_dir=tmp_path))
    message = str(raised.value)
    assert f"--data-dir '{tmp_path}' has no train-images-idx3-ubyte.gz," in message
    assert "t10k-labels-idx1-ubyte.gz" in message
    assert "Fix: copy them there" in message
    assert "model/sample" in message


def test_a_cluster_run_needs_only_the_test_digits_in_its_data_dir(tmp_path):
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        (tmp_path / name).write_bytes(b"")
    checked(HarnessConfig(platform="kind", data_dir=tmp_path))
    with pytest.raises(OptionError, match="has no train-images"):
        checked(HarnessConfig(data_dir=tmp_path))


def test_keep_cluster_is_for_the_platform_that_creates_clusters() -> None:
    checked(HarnessConfig(platform="kind", keep_cluster=True))
    with pytest.raises(OptionError, match="--platform local creates none: drop --keep-cluster"):
        checked(HarnessConfig(platform="local", keep_cluster=True))
