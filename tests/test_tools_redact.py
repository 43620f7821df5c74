"""Secrets never reach logs or artifacts: tokens, keys and passwords are masked."""

from __future__ import annotations

import logging

import pytest

from fixtures.tools.redact import MASK, RedactingFilter, redact


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("Authorization: Bearer abc.def-ghi_123", "abc.def-ghi_123"),
        (
            '{"access_token": "ya29.a0AfH6SMBx-secret", "expires_in": 3599}',
            "ya29.a0AfH6SMBx-secret",
        ),
        ("token: s3cr3t-value\n", "s3cr3t-value"),
        ("client-key-data: LS0tLS1CRUdJTiBSU0Eg", "LS0tLS1CRUdJTiBSU0Eg"),
        ("password=hunter2 user=me", "hunter2"),
        ("id token eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl here", "eyJhbGciOiJSUzI1NiJ9"),
        (
            '"private_key": "-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBg\\n-----END PRIVATE KEY-----\\n"',
            "MIIEvQIBADANBg",
        ),
    ],
)
def test_secrets_are_masked(text: str, secret: str) -> None:
    cleaned = redact(text)
    assert secret not in cleaned
    assert MASK in cleaned


def test_ordinary_text_is_untouched() -> None:
    text = "pod train-1 container main exited 1; kubectl --context kind-mnist-e2e get pods"
    assert redact(text) == text


def test_logging_filter_redacts_arguments(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("mnist_e2e.test_redact")
    logger.addFilter(RedactingFilter())
    with caplog.at_level(logging.INFO, logger="mnist_e2e.test_redact"):
        logger.info("calling %s", "Authorization: Bearer topsecret")
    assert "topsecret" not in caplog.text
    assert MASK in caplog.text


def test_install_attaches_one_filter_per_logger() -> None:
    from fixtures.tools.redact import install

    install("mnist_e2e.test_install", "mnist_e2e.test_install")
    filters = logging.getLogger("mnist_e2e.test_install").filters
    assert [type(f) for f in filters] == [RedactingFilter]
