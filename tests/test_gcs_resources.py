"""The per-run bucket's settings, on the real google.cloud.storage Bucket and IAM Policy."""

from __future__ import annotations

import pytest
from google.api_core.iam import Policy
from google.auth.credentials import AnonymousCredentials
from google.cloud import storage

from fixtures.created import gcs_resources
from fixtures.naming import bucket_name
from kubekit.exceptions import Conflict

RUN = "mnist-e2e-20261125t120000z-abcd"


def client() -> storage.Client:
    return storage.Client(project="proj", credentials=AnonymousCredentials())


def test_bucket_spec_is_private_labelled_and_expires() -> None:
    bucket = gcs_resources.bucket_spec(client(), RUN, "proj")
    assert bucket.name == bucket_name(RUN, "proj")
    settings = gcs_resources.describe_settings(bucket)
    assert settings["labels"] == {"managed-by": "mnist-e2e", "mnist-e2e-run-id": RUN}
    assert settings["uniform_bucket_level_access"] is True
    assert settings["public_access_prevention"] == "enforced"
    assert settings["lifecycle_rules"] == [{"action": {"type": "Delete"}, "condition": {"age": 1}}]
    assert settings["soft_delete_retention_seconds"] == 0


def test_bucket_spec_sends_the_settings_in_the_create_request() -> None:
    body = gcs_resources.bucket_spec(client(), RUN, "proj")._properties
    assert body["iamConfiguration"]["uniformBucketLevelAccess"]["enabled"] is True
    assert body["iamConfiguration"]["publicAccessPrevention"] == "enforced"
    assert body["lifecycle"]["rule"][0]["condition"] == {"age": 1}


def test_bucket_names_are_valid_and_bounded() -> None:
    name = bucket_name(RUN, "a-very-long-project-id-0123456789")
    assert len(name) <= 63 and not name.endswith("-")


def test_object_admin_is_granted_once() -> None:
    policy = Policy(version=3)
    policy.bindings.append({"role": "roles/viewer", "members": {"user:a@b.c"}})
    gsa = "tf-serving@proj.iam.gserviceaccount.com"
    gcs_resources.with_object_admin(policy, gsa)
    gcs_resources.with_object_admin(policy, gsa)
    admins = [b for b in policy.bindings if b["role"] == gcs_resources.OBJECT_ADMIN]
    assert len(admins) == 1 and admins[0]["members"] == {f"serviceAccount:{gsa}"}
    assert {"role": "roles/viewer", "members": {"user:a@b.c"}} in policy.bindings


@pytest.fixture
def emulated(gcs_emulator: str) -> storage.Client:
    """A real storage.Client against the GCS JSON API emulator on loopback (in memory)."""
    return storage.Client(
        project="proj",
        credentials=AnonymousCredentials(),
        client_options={"api_endpoint": gcs_emulator},
    )


def test_bucket_is_created_then_deleted_with_its_contents(emulated: storage.Client) -> None:
    created = gcs_resources.create_bucket(emulated, RUN, "proj", "US-CENTRAL1")
    assert created.name == bucket_name(RUN, "proj")
    for name in ("export/1/saved_model.pb", "export/1/variables/variables.index"):
        emulated.bucket(created.name).blob(name).upload_from_string(b"x")
    assert gcs_resources.bucket_exists(emulated, created.name)
    assert (
        gcs_resources.delete_bucket(emulated, created.name)
        == f"bucket {created.name}: 2 objects and the bucket deleted"
    )
    assert not gcs_resources.bucket_exists(emulated, created.name)
    assert (
        gcs_resources.delete_bucket(emulated, created.name)
        == f"bucket {created.name}: already gone"
    )


def test_an_existing_bucket_is_never_adopted(emulated: storage.Client) -> None:
    run = "mnist-e2e-20261125t120000z-0dd5"  # its own bucket: the emulator lives per module
    gcs_resources.create_bucket(emulated, run, "proj", "US-CENTRAL1")
    with pytest.raises(Conflict, match="not retryable"):
        gcs_resources.create_bucket(emulated, run, "proj", "US-CENTRAL1")
