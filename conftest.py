"""Root conftest: loads the mnist-e2e pytest plugin for every test directory."""

pytest_plugins = ["fixtures.plugin", "fixtures.e2e_fixtures"]
