"""KFP 2.5.0 compatibility of the compiled IR: every field must exist in 2.5.0's protos."""

import copy

import pytest

from ci.validate import kfp_compat, pipeline_ir


@pytest.fixture(scope="module")
def onprem():
    return pipeline_ir.compile_docs("onprem")


def test_both_variants_use_only_fields_the_250_backend_knows(onprem):
    assert kfp_compat.ir_problems(onprem) == []
    assert kfp_compat.ir_problems(pipeline_ir.compile_docs("gcp", gcp_secret="gcp-key")) == []


def test_field_list_records_what_250_introduced():
    known = kfp_compat.known_fields()
    # #11770 (in 2.5.0) added the parameterized PVC name the SDK now emits ...
    assert "pvcNameParameter" in known["kfp_kubernetes.PvcMount"]
    assert "secretNameParameter" in known["kfp_kubernetes.SecretAsVolume"]
    # ... while PVC subPath came later, and must not be emitted for a 2.5.0 backend.
    assert "subPath" not in known["kfp_kubernetes.PvcMount"]


def test_a_field_the_backend_lacks_is_reported_with_its_path(onprem):
    # What SDK 2.16 IR does to a KFP 2.2.0 backend: "unknown field pvcNameParameter".
    known = kfp_compat.known_fields()
    known["kfp_kubernetes.PvcMount"] = known["kfp_kubernetes.PvcMount"] - {"pvcNameParameter"}
    problems = kfp_compat.ir_problems(onprem, known)
    assert any(
        p.startswith("platformSpec.kubernetes.executors[exec-train].pvcMount[0].pvcNameParameter")
        for p in problems
    )


def test_a_newer_pipeline_spec_field_is_reported(onprem):
    docs = copy.deepcopy(onprem)
    docs[0]["deploymentSpec"]["executors"]["exec-train"]["container"]["resources"][
        "resourceCpuLimit"
    ] = "2"
    known = kfp_compat.known_fields()
    name = "ml_pipelines.PipelineDeploymentConfig.PipelineContainerSpec.ResourceSpec"
    known[name] = known[name] - {"resourceCpuLimit"}
    (problem,) = kfp_compat.ir_problems(docs, known)
    assert "resources.resourceCpuLimit" in problem
    assert "KFP 2.5.0" in problem


def test_schema_version_is_checked(onprem):
    docs = copy.deepcopy(onprem)
    docs[0]["schemaVersion"] = "2.2.0"
    assert any("schemaVersion is 2.2.0" in p for p in kfp_compat.ir_problems(docs))
