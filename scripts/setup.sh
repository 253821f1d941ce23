#!/usr/bin/env bash
# Installs the Debian packages the engine builds against (idempotent; needs root or sudo).
#   libopenblas-dev  OpenBLAS with the CBLAS interface (all GEMMs), found by pkg-config
#   liblapacke-dev   LAPACKE, for token mixers that need factorizations
#   pkg-config       how SwiftPM finds OpenBLAS, libjpeg and libpng
#   libjpeg62-turbo-dev  libjpeg-turbo (libjpeg API): JPEG decoding for `vit classify`
#   libpng-dev       libpng: PNG decoding for `vit classify`
#   libcurl4-openssl-dev  libcurl's headers; libcurl itself is loaded only when weights are downloaded
set -euo pipefail
mapfile -t packages < "$(dirname "$0")/debian-packages.txt"
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update
  $sudo apt-get install -y --no-install-recommends "${missing[@]}"
fi
echo "setup: ${packages[*]} installed"
