"""KFP 2.17.0 compatibility of the compiled IR: every field must exist in 2.17.0's protos."""

import copy
import re

import pytest

from ci.airgap import kfp_source
from ci.validate import kfp_compat, pipeline_ir


@pytest.fixture(scope="module")
def onprem():
    return pipeline_ir.compile_docs("onprem")


@pytest.fixture(scope="module")
def reference():
    return kfp_compat.reference()


@pytest.fixture
def known(reference):
    return copy.deepcopy(reference.known)


@pytest.fixture(scope="module")
def source_fields():
    """The fields of KFP 2.17.0's own protos; the test skips when its source is not here."""
    try:
        return kfp_compat.source_fields()
    except kfp_source.SourceMissing as missing:
        pytest.skip(str(missing))


def test_both_variants_use_only_fields_the_2_17_backend_knows(onprem, reference):
    assert reference.problems == []
    assert kfp_compat.ir_problems(onprem, reference.known) == []
    gcp = pipeline_ir.compile_docs("gcp", gcp_secret="gcp-key")
    assert kfp_compat.ir_problems(gcp, reference.known) == []


def test_the_installed_protos_are_those_kfp_2_17_is_built_from(source_fields):
    # The lock's kfp-pipeline-spec 2.17.3 and kfp-kubernetes 2.17.0 against the tag's .proto
    # files: what lets the installed descriptors stand in when the source is not here.
    assert kfp_compat.installed_versions() == kfp_compat.SAME_PROTOS
    assert kfp_compat.differences(kfp_compat.installed_fields(), source_fields) == []


def test_the_field_list_is_2_17s(known):
    # The parameterized PVC name the SDK emits (#11770), and PVC subPath, which came later.
    assert {"pvcNameParameter", "subPath"} <= known["kfp_kubernetes.PvcMount"]
    assert "secretNameParameter" in known["kfp_kubernetes.SecretAsVolume"]


def test_a_field_kfp_2_17_lacks_is_reported_with_its_path(onprem, reference):
    docs = copy.deepcopy(onprem)
    executors = docs[1]["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
    executors["exec-train"]["pvcMount"][0]["subPathExpr"] = "$(RUN)"
    (problem,) = kfp_compat.ir_problems(docs, reference.known)
    assert problem.startswith("platformSpec.kubernetes.executors[exec-train]: not in KFP 2.17.0")
    assert '"subPathExpr" at "KubernetesExecutorConfig.pvcMount[0]"' in problem


def test_a_field_the_installed_protos_have_and_the_backends_lack_is_reported(onprem, known):
    # What SDK 2.16 IR did to a KFP 2.2.0 backend: "unknown field pvcNameParameter".
    known["kfp_kubernetes.PvcMount"] -= {"pvcNameParameter"}
    problems = kfp_compat.ir_problems(onprem, known)
    assert any(
        p.startswith("platformSpec.kubernetes.executors[exec-train].pvcMount[0].pvcNameParameter")
        for p in problems
    )


def test_a_pipeline_spec_field_the_backend_lacks_is_reported(onprem, known):
    docs = copy.deepcopy(onprem)
    docs[0]["deploymentSpec"]["executors"]["exec-train"]["container"]["resources"][
        "resourceCpuLimit"
    ] = "2"
    name = "ml_pipelines.PipelineDeploymentConfig.PipelineContainerSpec.ResourceSpec"
    known[name] -= {"resourceCpuLimit"}
    (problem,) = kfp_compat.ir_problems(docs, known)
    assert "resources.resourceCpuLimit" in problem
    assert "KFP 2.17.0" in problem


def test_schema_version_is_checked(onprem, reference):
    docs = copy.deepcopy(onprem)
    docs[0]["schemaVersion"] = "2.2.0"
    assert any("schemaVersion is 2.2.0" in p for p in kfp_compat.ir_problems(docs, reference.known))


def test_installed_protos_that_differ_from_the_backends_are_reported(known):
    installed = copy.deepcopy(known)
    installed["kfp_kubernetes.PvcMount"] |= {"subPathExpr"}
    installed["kfp_kubernetes.NewThing"] = {"x"}
    del installed["kfp_kubernetes.SecretAsVolume"]
    assert kfp_compat.differences(installed, known) == [
        "message type kfp_kubernetes.NewThing is installed, not in KFP 2.17.0's protos",
        "kfp_kubernetes.PvcMount: subPathExpr installed, not in KFP 2.17.0's protos",
        "message type kfp_kubernetes.SecretAsVolume is in KFP 2.17.0's protos, not installed",
    ]


def test_another_installed_version_is_reported_with_the_fix():
    (problem,) = kfp_compat.version_problems(
        {"kfp-pipeline-spec": "2.18.0", "kfp-kubernetes": "2.17.0"}
    )
    assert problem.startswith("kfp-pipeline-spec 2.18.0 is installed, not 2.17.3")
    assert "SAME_PROTOS['kfp-pipeline-spec'] = '2.18.0'" in problem


def test_without_the_source_the_installed_protos_stand_in(monkeypatch, tmp_path):
    monkeypatch.setenv(kfp_source.ENV, str(tmp_path / "absent.tar.gz"))
    found = kfp_compat.reference()
    assert found.problems == []
    assert found.known == kfp_compat.installed_fields()
    assert "not compared with KFP 2.17.0's source" in found.origin
    assert str(tmp_path / "absent.tar.gz") in found.origin


def test_a_source_folder_of_another_version_is_not_read(monkeypatch, tmp_path):
    (tmp_path / "VERSION").write_text("2.16.0\n")  # an older release must not stand in
    monkeypatch.setenv(kfp_source.ENV, str(tmp_path))
    with pytest.raises(kfp_source.SourceMissing, match=re.escape("is KFP 2.16.0, not 2.17.0")):
        kfp_compat.source_fields()
