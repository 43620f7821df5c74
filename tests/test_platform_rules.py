"""A platform's rules are its own class's (fixtures/platforms/): no module elsewhere branches on
a platform's name, each option a platform owns is refused on the others naming the owner, and
``checked`` applies them all at parse time."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from fixtures.config import PLATFORMS, HarnessConfig, OptionError
from fixtures.platforms import checked, get_platform
from tests.support.product_code import PRODUCT, python_files

# Where a platform's name may be tested: the platforms themselves.
PLATFORMS_ROOM = "fixtures/platforms/"


def _is_name(node: ast.expr) -> bool:
    """A platform's name written out, alone or in a tuple, list or set of them."""
    if isinstance(node, ast.Constant):
        return node.value in PLATFORMS
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return bool(node.elts) and all(_is_name(e) for e in node.elts)
    return False


def branches_on_a_platform_name(source: str, relative: str) -> list[str]:
    """Each comparison (or match case) of *source* with a platform's name on one side and,
    on the other, something that says platform; in the harness (fixtures/), any comparison
    with a platform's name at all (``name != "local"`` is the same branch in disguise)."""
    harness = relative.startswith("fixtures/")
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            others = [ast.unparse(o) for o in operands if not _is_name(o)]
            if len(others) < len(operands) and (
                harness or any("platform" in o.lower() for o in others)
            ):
                found.append(f"{relative}:{node.lineno}: {ast.unparse(node)}")
        elif isinstance(node, ast.MatchValue) and harness and _is_name(node.value):
            found.append(f"{relative}:{node.lineno}: case {ast.unparse(node.value)}")
    return found


def test_no_module_outside_the_platforms_branches_on_a_platform_name() -> None:
    found = [
        line
        for path, relative in python_files(PRODUCT)
        if not relative.startswith(PLATFORMS_ROOM)
        for line in branches_on_a_platform_name(path.read_text(encoding="utf-8"), relative)
    ]
    assert found == [], (
        "a platform's rule outside its class (fixtures/platforms/: own_options,"
        " check_options, data_files, stand_ins):\n" + "\n".join(found)
    )


@pytest.mark.parametrize(
    "source",
    [
        'if self.platform == "gke":\n    pass\n',
        'needed = A if config.platform != "local" else B\n',
        'ok = args.mnist_platform in ("kind", "gke")\n',
        'CLUSTER = tuple(n for n in NAMES if n != "local")\n',
    ],
)
def test_a_branch_on_a_platform_name_is_found(source: str) -> None:
    assert branches_on_a_platform_name(source, "fixtures/config.py")


def test_a_kustomize_overlay_of_the_same_name_is_not_a_platform_branch() -> None:
    # pipeline/ and ci/ pick manifests by overlay (kind/, gke/), a name the platform hands on.
    assert not branches_on_a_platform_name('if overlay == "gke":\n    pass\n', "ci/x.py")


@pytest.mark.parametrize("owner", PLATFORMS)
def test_each_option_a_platform_owns_is_refused_elsewhere_naming_the_owner(
    owner: str, tmp_path: Path
) -> None:
    for option, message in get_platform(owner).own_options.items():
        assert option in HarnessConfig.__dataclass_fields__, f"{owner}: no option {option}"
        for other in (p for p in PLATFORMS if p != owner):
            value = "x" if HarnessConfig.__dataclass_fields__[option].default is None else True
            config = HarnessConfig(platform=other, artifacts_dir=tmp_path, **{option: value})
            with pytest.raises(OptionError) as raised:
                checked(config)
            assert str(raised.value) == message.format(platform=other, value=value)
            assert owner in str(raised.value)


def test_every_platform_accepts_its_defaults(tmp_path: Path) -> None:
    checked(HarnessConfig(platform="local", artifacts_dir=tmp_path))
    checked(HarnessConfig(platform="kind", artifacts_dir=tmp_path))
    gke = {"kube_context": "c", "gcp_project": "p", "registry": "r"}
    checked(HarnessConfig(platform="gke", artifacts_dir=tmp_path, **gke))
