"""The wrapper go.mod that builds a module with its own replace/exclude directives: local
path replaces point at the published sibling (Kubernetes' staging modules, KFP's nested
modules at the same commit), remote replaces and excludes are repeated as they are."""

from __future__ import annotations

from ci.airgap.gobuild import wrapper_gomod
from ci.airgap.pins import GoModule

KFP_LIKE = """module github.com/kubeflow/pipelines

go 1.25.7

require (
	github.com/kubeflow/pipelines/api v0.0.0-20250102152816-873e9dedd766
	github.com/kubeflow/pipelines/kubernetes_platform v0.0.0-20240725205754-d911c8b73b49
	k8s.io/api v0.34.1
)

// These dependencies are managed relative to project root
replace (
	github.com/kubeflow/pipelines/api => ./api
	github.com/kubeflow/pipelines/kubernetes_platform => ./kubernetes_platform
	github.com/mattn/go-sqlite3 => github.com/mattn/go-sqlite3 v1.14.18
)

exclude github.com/mitchellh/osext v0.0.0-20151018003038-5e2d6d41470f
"""

KUBERNETES_LIKE = """module k8s.io/kubernetes

require k8s.io/api v0.0.0

replace (
	k8s.io/api => ./staging/src/k8s.io/api
	k8s.io/kms => FORBIDDEN_DEPENDENCY
)
"""


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith(("replace", "exclude"))]


def test_kfp_nested_modules_are_pinned_to_the_same_commit() -> None:
    pseudo = "v0.0.0-20260708120000-714d7e4a7608"
    target = GoModule("github.com/kubeflow/pipelines", pseudo, ("x",), "test")
    out = wrapper_gomod(target, KFP_LIKE)
    assert f"require github.com/kubeflow/pipelines {pseudo}" in out
    assert _lines(out) == [
        f"replace github.com/kubeflow/pipelines/api => github.com/kubeflow/pipelines/api {pseudo}",
        "replace github.com/kubeflow/pipelines/kubernetes_platform =>"
        f" github.com/kubeflow/pipelines/kubernetes_platform {pseudo}",
        "replace github.com/mattn/go-sqlite3 => github.com/mattn/go-sqlite3 v1.14.18",
        "exclude github.com/mitchellh/osext v0.0.0-20151018003038-5e2d6d41470f",
    ]


def test_kubernetes_staging_modules_map_to_their_published_minor() -> None:
    target = GoModule("k8s.io/kubernetes", "v1.34.4", ("x",), "test")
    assert _lines(wrapper_gomod(target, KUBERNETES_LIKE)) == [
        "replace k8s.io/api => k8s.io/api v0.34.4"
    ]
