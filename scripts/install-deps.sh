#!/usr/bin/env bash
# Installs ptio's build and test dependencies from Debian 12, quietly and only when missing.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config git
  libdeflate-dev zlib1g-dev libcli11-dev nlohmann-json3-dev nettle-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  python3-torch python3-numpy zip unzip strace time
)
if [[ "${PTIO_WITH_FUZZ:-0}" == 1 ]]; then PACKAGES+=(clang libclang-rt-14-dev); fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then exit 0; fi

SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
