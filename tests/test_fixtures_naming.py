from datetime import UTC, datetime

import pytest

from fixtures import naming


def test_run_id_is_a_dns_label_that_encodes_its_start():
    now = datetime(2026, 11, 24, 3, 4, 5, tzinfo=UTC)
    run_id = naming.new_run_id(now, suffix="ab12")
    assert run_id == "mnist-e2e-20261124t030405z-ab12"
    assert naming.is_dns_label(run_id)
    assert naming.run_started_at(run_id) == now


def test_run_ids_differ_and_sort_by_time():
    early = naming.new_run_id(datetime(2026, 1, 1, tzinfo=UTC))
    late = naming.new_run_id(datetime(2026, 1, 2, tzinfo=UTC))
    assert len({naming.new_run_id() for _ in range(20)}) > 1
    assert sorted([late, early]) == [early, late]


@pytest.mark.parametrize("suffix", ["ABCD", "ab_1", "-abc"])
def test_bad_suffix_is_rejected(suffix):
    with pytest.raises(ValueError, match="not a DNS label"):
        naming.new_run_id(suffix=suffix)


@pytest.mark.parametrize(
    ("name", "ok"),
    [("a", True), ("a-b", True), ("-a", False), ("a-", False), ("A", False), ("a" * 64, False)],
)
def test_dns_label(name, ok):
    assert naming.is_dns_label(name) is ok


def test_foreign_names_have_no_start_time():
    with pytest.raises(ValueError, match="not a mnist-e2e run id"):
        naming.run_started_at("default")


def test_labels_carry_managed_by_and_run_id():
    from kubekit.constants import run_labels

    labels = run_labels("mnist-e2e-20261124t030405z-ab12")
    assert labels == {
        "app.kubernetes.io/managed-by": "mnist-e2e",
        "mnist-e2e/run-id": "mnist-e2e-20261124t030405z-ab12",
    }
    assert set(naming.gcs_labels("x").values()) == {"mnist-e2e", "x"}


def test_bucket_name_fits_gcs_limits():
    name = naming.bucket_name("mnist-e2e-20261124t030405z-ab12", project="a-very-long-project-id")
    assert len(name) <= 63 and not name.endswith("-")
