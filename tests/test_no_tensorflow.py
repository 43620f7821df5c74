"""What runs beside the trainer imports no TensorFlow: the web UI, the e2e test process, the deploy
steps (and kubekit, their Kubernetes toolkit), the benchmark clients, and the model server's
request path.

On the local platform these processes start while the trainer starts; each TensorFlow import
is seconds of CPU taken from it on a small machine. They need only TF Serving's protos, which
tf_serving_api provides without TensorFlow, and this keeps it so: each group is imported (and
its TensorFlow-prone paths run) in a fresh interpreter, which must end with no TensorFlow in
``sys.modules``; and no file of theirs may import it, even lazily.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.support.fresh_imports import packages_loaded

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = ("tensorflow", "tensorflow_serving", "keras", "tf_keras")

GROUPS = {
    "web UI": """
import web_ui.__main__
from web_ui.app import create_app
from web_ui.settings import UiConfig
create_app({"UI": UiConfig({"local": "127.0.0.1:1"})}).test_client().get("/healthz")
""",
    "e2e test process": """
import numpy as np
import fixtures.plugin, fixtures.e2e_fixtures, fixtures.platforms.local, fixtures.__main__
import e2e.conftest, e2e.test_browser, e2e.test_export, e2e.test_pipeline, e2e.test_web_ui
import e2e.test_predictions
from web_ui.predict_client import PredictClient
e2e.test_predictions._request(np.zeros((2, 784), np.float32))
e2e.test_predictions._request(np.array([["not a digit"]]))
""",
    "deploy steps": """
import kubekit.client, kubekit.objects, kubekit.retry, kubekit.wait
import pipeline.deploy.__main__, pipeline.deploy.steps
from pipeline.deploy import probe
probe.predict_request().SerializeToString()
""",
    "benchmark clients": """
import numpy as np
import benchmarks.__main__, benchmarks.phase_times
import benchmarks.serving, benchmarks.stack, benchmarks.ui
benchmarks.serving._grpc_call(None, np.zeros((1, 784), np.float32))
""",
    "model server's request path": """
import numpy as np
import serving.__main__, serving.server
from serving import tensors
tensors.output_proto(np.zeros((1, 10), np.float32))
""",
}
# Files that must not import TensorFlow at all (the model server's servable.py runs models,
# the training benchmark trains, and the serving benchmark's direct path is the baseline its
# gRPC numbers are compared with; the fixed test model is in tests/support/, not shipped).
CHECKED_FILES = sorted(
    path
    for folder in (
        "web_ui",
        "e2e",
        "fixtures",
        "kubekit",
        "pipeline/deploy",
        "tf_serving_api",
        "benchmarks",
    )
    for path in (ROOT / folder).rglob("*.py")
    if "_generated" not in path.parts
    and path.relative_to(ROOT).as_posix()
    not in ("benchmarks/train_throughput.py", "benchmarks/serving.py")
) + [ROOT / "serving" / name for name in ("api.py", "grpc_service.py", "rest.py", "tensors.py")]


@pytest.mark.parametrize("group", GROUPS)
def test_importing_and_using_them_loads_no_tensorflow(group: str) -> None:
    loaded = packages_loaded(GROUPS[group], FORBIDDEN)
    assert loaded == [], f"the {group} imported TensorFlow: {loaded[:20]}"


def _tensorflow_imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        found += [f"line {node.lineno}: {n}" for n in names if n.split(".")[0] in FORBIDDEN]
    return found


def test_their_files_do_not_import_tensorflow_even_lazily() -> None:
    offenders = {
        str(path.relative_to(ROOT)): found
        for path in CHECKED_FILES
        if (found := _tensorflow_imports(path))
    }
    assert offenders == {}, f"use tf_serving_api instead of TensorFlow: {offenders}"
