"""The offline check of the compiled pipeline catches wrong order, mounts and images."""

import copy

import pytest

from ci.validate import pipeline_ir


@pytest.fixture(scope="module")
def compiled():
    return {p: pipeline_ir.compile_docs(p) for p in ("onprem", "gcp")}


def test_compiled_variants_pass(compiled):
    for platform, docs in compiled.items():
        assert pipeline_ir.structure_problems(docs, platform) == []


def test_missing_dependency_is_caught(compiled):
    docs = copy.deepcopy(compiled["onprem"])
    del docs[0]["root"]["dag"]["tasks"]["web-ui"]["dependentTasks"]
    assert pipeline_ir.structure_problems(docs, "onprem") == [
        "task web-ui depends on [], expected ['serve']"
    ]


def test_pvc_where_it_does_not_belong_is_caught(compiled):
    onprem = copy.deepcopy(compiled["onprem"])
    executors = onprem[1]["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
    executors["exec-web-ui"] = {"pvcMount": executors["exec-train"]["pvcMount"]}
    assert "task web-ui mounts ['/mnt'] on onprem, expected no PVC" in (
        pipeline_ir.structure_problems(onprem, "onprem")
    )
    # The on-prem IR judged as GCP: every mount is wrong there.
    problems = pipeline_ir.structure_problems(compiled["onprem"], "gcp")
    assert "task train mounts ['/mnt'] on gcp, expected no PVC" in problems


def test_missing_mount_and_cached_step_are_caught(compiled):
    docs = copy.deepcopy(compiled["onprem"])
    del docs[1]["platforms"]["kubernetes"]["deploymentSpec"]["executors"]["exec-serve"]
    docs[0]["root"]["dag"]["tasks"]["train"]["cachingOptions"] = {"enableCache": True}
    problems = pipeline_ir.structure_problems(docs, "onprem")
    assert "task serve mounts the PVC at [], expected ['/mnt']" in problems
    assert "task train is cached; every run must train and deploy" in problems


def test_wrong_image_is_caught(compiled):
    docs = copy.deepcopy(compiled["gcp"])
    docs[0]["deploymentSpec"]["executors"]["exec-serve"]["container"]["image"] = "other:1"
    assert pipeline_ir.structure_problems(docs, "gcp") == [
        f"exec-serve runs other:1, expected {pipeline_ir.CHECK_IMAGE}"
    ]
