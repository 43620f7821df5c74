"""The e2e suite: written once, run against whichever --platform the session uses."""

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Every e2e test needs the provisioned run; requesting it from each keeps the story of
    # a test readable while the expensive part happens once per session.
    for item in items:
        if "mnist_run" not in getattr(item, "fixturenames", ()):
            item.fixturenames.append("mnist_run")  # type: ignore[attr-defined]
