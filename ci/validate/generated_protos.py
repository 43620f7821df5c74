"""tf_serving_api/_generated/: TF Serving's client protos, generated without TensorFlow at run time.

    python -m ci.validate.generated_protos          # check tf_serving_api/_generated/ is current
    python -m ci.validate.generated_protos --write  # regenerate it (after the lock changes)

Neither the tensorflow nor the tensorflow-serving-api wheel ships ``.proto`` files; both ship
the compiled descriptors inside their ``_pb2`` modules, and those modules import all of
TensorFlow. So the source here is those descriptors, at the lock's pins: the closure of
:data:`ROOTS` under their imports goes to protoc (grpcio-tools) as a descriptor set, protoc
writes a ``_pb2`` module per file (and ``_pb2_grpc`` for the two services), and their imports
move under :data:`PACKAGE`. The files keep their names and descriptors, so they load into one
process beside TensorFlow's own (the model server has both) as the very same message classes.
"""

from __future__ import annotations

import argparse
import filecmp
import importlib
import importlib.metadata
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Final

ROOT: Final = Path(__file__).resolve().parents[2]
OUT: Final = ROOT / "tf_serving_api" / "_generated"
PACKAGE: Final = "tf_serving_api._generated"
# The services the project calls and serves, and the SavedModel proto the e2e suite and the
# model server read signatures from; everything they import comes along.
ROOTS: Final = (
    "tensorflow_serving.apis.prediction_service_pb2",
    "tensorflow_serving.apis.model_service_pb2",
    "tensorflow.core.protobuf.saved_model_pb2",
)
# protobuf's runtime ships the well-known types; they are inputs to protoc, not outputs.
RUNTIME_PREFIX: Final = "google/protobuf/"
SOURCES: Final = ("tensorflow", "tensorflow-serving-api", "grpcio-tools")


def descriptor_closure(roots: Iterable[str] = ROOTS) -> list[bytes]:
    """Serialized FileDescriptorProtos of *roots* (module names) and their imports, deps first."""
    ordered: list[bytes] = []
    seen: set[str] = set()

    def visit(file: object) -> None:
        if file.name in seen:  # type: ignore[attr-defined]
            return
        seen.add(file.name)  # type: ignore[attr-defined]
        for dependency in file.dependencies:  # type: ignore[attr-defined]
            visit(dependency)
        ordered.append(file.serialized_pb)  # type: ignore[attr-defined]

    for module in roots:
        visit(importlib.import_module(module).DESCRIPTOR)
    return ordered


def descriptor_set(files: list[bytes]) -> bytes:
    """A serialized FileDescriptorSet of *files*."""
    from google.protobuf import descriptor_pb2

    fds = descriptor_pb2.FileDescriptorSet()
    for serialized in files:
        fds.file.add().ParseFromString(serialized)
    return fds.SerializeToString()


def rewrite(source: str, top_level: Iterable[str], package: str = PACKAGE) -> str:
    """*source* (a generated module) with its imports of *top_level* packages under *package*.

    protoc derives a module's import path from its .proto path and has no option to prefix
    it; protoletariat, the tool that rewrites them, caps protobuf below the 6.x the lock
    holds. Only import lines and the module names given to protobuf's builder change: the
    serialized descriptors and the gRPC method paths (``/tensorflow.serving.…``) must not.
    """
    names = "|".join(re.escape(name) for name in sorted(top_level))
    source = re.sub(rf"^from ((?:{names})\.)", rf"from {package}.\1", source, flags=re.M)
    return re.sub(
        rf"^(_builder\.Build\w+\(DESCRIPTOR, ')((?:{names})\.)",
        rf"\1{package}.\2",
        source,
        flags=re.M,
    )


def protoc(args: list[str], what: str) -> None:
    """Run grpcio-tools' protoc with *args*; RuntimeError naming *what* when it fails.

    In a process of its own: grpcio-tools links its own C++ protobuf, and in a process where
    TensorFlow (which links another) loaded first, it reads no descriptors.
    """
    done = subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"protoc exited {done.returncode} {what}: {done.stderr}")


def _versions() -> str:
    return ", ".join(f"{name}=={importlib.metadata.version(name)}" for name in SOURCES)


def generate(dest: Path) -> list[Path]:
    """Write the generated package into *dest* (empty or missing); the files written."""
    from google.protobuf import descriptor_pb2

    files = descriptor_closure()
    names = []
    services = set()
    for serialized in files:
        proto = descriptor_pb2.FileDescriptorProto.FromString(serialized)
        if not proto.name.startswith(RUNTIME_PREFIX):
            names.append(proto.name)
            if proto.service:
                services.add(proto.name)
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="tf-serving-protos-") as tmp:
        fds = Path(tmp, "descriptors.binpb")
        fds.write_bytes(descriptor_set(files))
        raw = Path(tmp, "out")
        raw.mkdir()
        protoc(
            [f"--descriptor_set_in={fds}", f"--python_out={raw}", f"--grpc_python_out={raw}",
             *names],
            f"generating {len(names)} files",
        )  # fmt: skip
        top_level = {name.split("/")[0] for name in names}
        wanted = {name.removesuffix(".proto") + "_pb2.py" for name in names}
        # protoc's gRPC plugin writes a _pb2_grpc module for every file; keep the services'.
        wanted |= {name.removesuffix(".proto") + "_pb2_grpc.py" for name in services}
        written = []
        for relative in sorted(wanted):
            target = dest / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(rewrite(Path(raw, relative).read_text("utf-8"), top_level), "utf-8")
            written.append(target)
    for directory in sorted({d for p in written for d in _parents(p.parent, dest)}):
        init = directory / "__init__.py"
        init.write_text(_INIT_DOC.format(versions=_versions()) if directory == dest else "")
        written.append(init)
    return written


def _parents(directory: Path, stop: Path) -> list[Path]:
    """*directory* and its parents up to and including *stop*."""
    found = [directory]
    while directory != stop:
        directory = directory.parent
        found.append(directory)
    return found


_INIT_DOC = '''"""Generated by `python -m ci.validate.generated_protos --write` from {versions}; do not edit.

Import the modules through tf_serving_api.protos.
"""
'''


def differences(expected: Path, actual: Path) -> list[str]:
    """Files that differ, are missing from *actual* or are extra in it (relative paths)."""
    want = {p.relative_to(expected) for p in expected.rglob("*.py")}
    have = {p.relative_to(actual) for p in actual.rglob("*.py")} if actual.is_dir() else set()
    found = [f"{p} is missing" for p in sorted(want - have)]
    found += [f"{p} is not generated any more" for p in sorted(have - want)]
    found += [
        f"{p} differs"
        for p in sorted(want & have)
        if not filecmp.cmp(expected / p, actual / p, shallow=False)
    ]
    return found


def problems(out: Path = OUT) -> list[str]:
    """A problem per file of *out* that regeneration would change."""
    with tempfile.TemporaryDirectory(prefix="tf-serving-protos-check-") as tmp:
        found = differences(Path(tmp), out) if generate(Path(tmp)) else ["nothing generated"]
    if not found:
        return []
    shown = out.relative_to(ROOT) if out.is_relative_to(ROOT) else out
    return [
        f"{shown} is stale ({len(found)} files: {'; '.join(found[:3])}); run"
        " `python -m ci.validate.generated_protos --write`"
    ]


def write(out: Path = OUT) -> int:
    """Regenerate *out* from scratch; the number of files written."""
    if out.exists():
        shutil.rmtree(out)
    return len(generate(out))


def main(argv: list[str] | None = None) -> int:
    """Check (or --write) tf_serving_api/_generated/."""
    parser = argparse.ArgumentParser(
        prog="python -m ci.validate.generated_protos", description=__doc__
    )
    parser.add_argument("--write", action="store_true", help="regenerate the package")
    args = parser.parse_args(argv)
    if args.write:
        print(f"wrote {write()} files to {OUT.relative_to(ROOT)} from {_versions()}")
    found = problems()
    for problem in found:
        print(f"FAIL {problem}")
    if not found:
        print(f"ok TF Serving protos: {OUT.relative_to(ROOT)} is current with {_versions()}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
