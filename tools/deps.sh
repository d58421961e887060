#!/usr/bin/env bash
# Installs the Debian packages npzfs needs to build and test, if any are
# missing. Debian 12; run as root (or with sudo available).
set -euo pipefail

packages=(
  build-essential cmake pkg-config git
  libfuse3-dev fuse3 libzip-dev zlib1g-dev libbz2-dev liblzma-dev libzstd-dev libspdlog-dev
  nlohmann-json3-dev libcli11-dev libgtest-dev libisal-dev libcurl4-openssl-dev
  nginx-light openssl ca-certificates radosgw ceph-mon ceph-osd ceph-common uuid-runtime iproute2 curl
  python3 python3-numpy attr procps util-linux systemd cppcheck clang clang-format
  groff-base man-db
  lintian dpkg-dev file binutils
)
if [[ "${NPZFS_DEPS_EXTRA:-}" != "" ]]; then
  read -r -a extra <<<"$NPZFS_DEPS_EXTRA"
  packages+=("${extra[@]}")
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

sudo=""
if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
echo "Installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
