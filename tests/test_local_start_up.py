"""A local e2e session starts without the cluster clients: the plugin, the e2e fixtures, every
platform's module (the plugin imports them all for their option rules) and the teardown load
no kubernetes and no kfp.

A local run has no cluster, and the kubernetes package alone took ~0.5 s of every local run's
start-up (on the 2-core machine) before its first fixture; cluster code imports it where it
makes a client or a call, and names its types for the type checker only. Checked in a fresh
interpreter, which must end with none of them in ``sys.modules``. Likewise the web UI's gRPC
client, which the e2e suite uses, loads no web framework.
"""

from __future__ import annotations

from tests.support.fresh_imports import packages_loaded

CLUSTER_CLIENTS = ("kubernetes", "kfp", "kfp_server_api")

START_UP = """
import fixtures.plugin, fixtures.e2e_fixtures, fixtures.lifecycle
import fixtures.created.teardown_plan
import e2e.conftest
from fixtures.config import PLATFORMS
from fixtures.platforms import get_platform
for name in PLATFORMS:
    get_platform(name)
"""


def test_a_local_session_imports_no_cluster_client() -> None:
    loaded = packages_loaded(START_UP, CLUSTER_CLIENTS)
    assert loaded == [], f"a local session's start-up imported a cluster client: {loaded[:20]}"


def test_the_e2e_suites_grpc_client_loads_no_web_framework() -> None:
    # The e2e process uses the web UI package's gRPC client only; Flask was 0.13-0.2 s of the
    # assertions' wall time when the package's __init__ built the app.
    loaded = packages_loaded("import web_ui.predict_client", ("flask", "werkzeug", "waitress"))
    assert loaded == [], f"importing the web UI's gRPC client loaded {loaded[:20]}"
