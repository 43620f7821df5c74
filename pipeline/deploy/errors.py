"""How a deploy step's failure reads: one line, the cause, and what to fix.

API failures come out of kubekit typed (``Forbidden``, ``NotFound``, ``WaitTimeout``, …) and
already name what was attempted; :class:`DeployError` is for the failures no API call makes
(an export without a version, a model that answers off its contract, an export the model
server cannot load: :class:`ModelLoadFailed`).
"""

from __future__ import annotations

from typing import Final

from kubekit.exceptions import ActionFailed, Forbidden

# The Role and RoleBinding of manifests/base/rbac.yaml: what a 403 means is missing.
RBAC_NAME: Final = "mnist-e2e-deployer"


class DeployError(ActionFailed):
    """A deploy step cannot finish for a reason that is not an API error; the message says
    what failed, why, and what to check."""


class ModelLoadFailed(DeployError):
    """The model server tried to load the export and gave up; the message carries the
    server's own reason (GetModelStatus), so it is reported at once instead of waited out."""


def rbac_hint(namespace: str) -> str:
    """What to apply when the step's service account is refused in *namespace*."""
    return (
        f"the step's service account needs Role/RoleBinding {RBAC_NAME} (manifests/base/"
        f"rbac.yaml) in namespace {namespace}: `python -m pipeline.deploy render --part rbac"
        f" --namespace {namespace} …` shows it"
    )


def explain(exc: ActionFailed, namespace: str) -> str:
    """*exc* in one line, with the RBAC to apply when it is a 403."""
    text = " ".join(str(exc).split())  # one line: a pod's log shows it whole
    if isinstance(exc, Forbidden):
        text += f" — {rbac_hint(namespace)}"
    return text
