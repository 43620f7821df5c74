"""The GKE rehearsal's stand-ins for Google's services, as images built here once and cached:
the GCS JSON API emulator and the OCI registry (docs/gke-rehearsal.md).

Both run as containers on kind's Docker network (pods reach them there) with a 127.0.0.1
port mapping for the host; nothing is pulled at run time.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from ci.airgap import gobuild, images, pins
from ci.airgap.kfp_standalone import Step, binaries_dockerfile

HERE = Path(__file__).resolve().parent
LOCK = HERE.parents[1] / "requirements" / "lock.txt"
REGISTRY_PORT = 5000
NON_ROOT = "10001:10001"  # the project's fixed uid (Dockerfile), no shell login


def gcs_emulator_dockerfile(base: str) -> str:
    """gcp-storage-emulator and its one dependency at the lock's pins (pip's -c constraint),
    serving in memory on every address of the container."""
    packages = " ".join(pins.GCS_EMULATOR_PACKAGES)
    return (
        "\n".join(
            [
                f"FROM {base}",
                "COPY lock.txt /tmp/lock.txt",
                f"RUN python3 -m pip install --no-cache-dir --no-deps -c /tmp/lock.txt {packages}"
                " && rm /tmp/lock.txt",
                f"USER {NON_ROOT}",
                f"EXPOSE {pins.GCS_EMULATOR_PORT}",
                'ENTRYPOINT ["python3", "-m", "gcp_storage_emulator", "start", "--host=0.0.0.0",'
                f' "--port={pins.GCS_EMULATOR_PORT}", "--in-memory"]',
            ]
        )
        + "\n"
    )


def gcs_emulator_image(python_base: str) -> images.BuiltImage:
    dockerfile = gcs_emulator_dockerfile(python_base)
    tag = images.tagged("mnist-e2e/gcs-emulator", "lock", dockerfile, LOCK.read_text())
    return images.build(tag, dockerfile, {"lock.txt": LOCK}, network="host")


# distribution's own example configuration, trimmed: filesystem storage in the container
# (gone with it), plain HTTP on the port containerd's hosts.toml names.
REGISTRY_CONFIG = f"""version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: /var/lib/registry
  delete:
    enabled: true
http:
  addr: :{REGISTRY_PORT}
"""


def registry_image(step: Step, base: str) -> images.BuiltImage:
    """distribution's ``registry`` on the KFP base (a Debian root), run as the project's uid."""
    registry_bin = step(
        pins.REGISTRY.module, pins.REGISTRY.version, lambda: gobuild.build(pins.REGISTRY)
    )
    dockerfile = binaries_dockerfile(
        base,
        {"registry": "/usr/local/bin/registry", "registry-config.yml": "/etc/registry.yml"},
        ["/usr/local/bin/registry", "serve", "/etc/registry.yml"],
        user=NON_ROOT,
        extra=["USER 0:0", "RUN mkdir -p /var/lib/registry && chown 10001:10001 /var/lib/registry"],
    )
    tag = images.tagged(
        "mnist-e2e/registry", pins.REGISTRY.version, dockerfile, REGISTRY_CONFIG, str(registry_bin)
    )
    with tempfile.TemporaryDirectory(prefix="mnist-e2e-registry-") as tmp:
        config = Path(tmp) / "registry-config.yml"
        config.write_text(REGISTRY_CONFIG)
        files = {"registry": registry_bin / "bin" / "registry", "registry-config.yml": config}
        return images.build(tag, dockerfile, files)
