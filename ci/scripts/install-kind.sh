#!/usr/bin/env bash
# Install the pinned kind release (ci/kind/kind-version) into DEST (default ~/.local/bin),
# verifying the binary against the checksum kind publishes with the release.
#
#   ci/scripts/install-kind.sh [DEST]
set -euo pipefail
cd "$(dirname "$0")/../.."

version="$(tr -d '[:space:]' < ci/kind/kind-version)"
dest="${1:-$HOME/.local/bin}"
case "$(uname -m)" in
    x86_64) arch=amd64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) echo "install-kind: unsupported machine $(uname -m)" >&2; exit 1 ;;
esac
os="$(uname -s | tr '[:upper:]' '[:lower:]')"
asset="kind-${os}-${arch}"
base="https://github.com/kubernetes-sigs/kind/releases/download/${version}"

if command -v kind >/dev/null 2>&1 && kind version | grep -q " ${version} "; then
    echo "install-kind: kind ${version} already on PATH ($(command -v kind))"
    exit 0
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
curl -fsSL --retry 3 -o "$work/$asset" "$base/$asset"
curl -fsSL --retry 3 -o "$work/$asset.sha256sum" "$base/$asset.sha256sum"
(cd "$work" && sha256sum --check --strict "$asset.sha256sum")
mkdir -p "$dest"
install -m 0755 "$work/$asset" "$dest/kind"
echo "install-kind: kind ${version} installed at $dest/kind"
