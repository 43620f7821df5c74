"""The compile command line."""

import pytest
import yaml

from pipeline.compile import main


def test_writes_a_pipeline_per_platform(tmp_path, capsys):
    for platform in ("onprem", "gcp"):
        out = tmp_path / "nested" / f"{platform}.yaml"
        assert main(["--platform", platform, "-o", str(out), "--image", "reg.example/m:1"]) == 0
        spec = next(yaml.safe_load_all(out.read_text()))
        assert spec["pipelineInfo"]["name"] == f"mnist-e2e-{platform}"
        assert spec["schemaVersion"] == "2.1.0"
    assert "wrote" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--platform", "aws", "-o", "x.yaml"], "invalid choice: 'aws'"),
        (
            ["--platform", "onprem", "-o", "x.yaml", "--gcp-secret", "k"],
            "gcp_secret is for --platform gcp",
        ),
        (["--platform", "gcp", "-o", "x.yaml", "--image", "mnist:latest"], ":latest"),
    ],
)
def test_bad_arguments_exit_2_with_the_reason(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "x.yaml").exists()
