#!/usr/bin/env bash
# Installs what the browser tests (tests/it/html.rs) need and nothing else: Debian's
# `chromium` (headless, renders `--format html` reports) and `fonts-ipafont-gothic` (so
# Japanese text renders in screenshots). Idempotent: each package is installed only when
# it is missing, so a second run changes nothing and does not touch the network.
#
# As root it installs; otherwise it uses sudo when available; with neither it prints what
# to install and exits 0 (the tests then skip, unless PANSWEEP_REQUIRE_CHROMIUM=1).
set -euo pipefail

missing=()
if [ ! -x /usr/bin/chromium ]; then
    missing+=(chromium)
fi
if ! dpkg-query -W -f='${Status}' fonts-ipafont-gothic 2>/dev/null | grep -q 'install ok installed'; then
    missing+=(fonts-ipafont-gothic)
fi

if [ ${#missing[@]} -eq 0 ]; then
    echo "install-test-deps: chromium and fonts-ipafont-gothic already installed"
    exit 0
fi

if [ "$(id -u)" = 0 ]; then
    as_root=(env)
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root=(sudo -n env)
else
    echo "install-test-deps: not root and no usable sudo; install these by hand:" >&2
    echo "    apt-get install --no-install-recommends ${missing[*]}" >&2
    exit 0
fi

echo "install-test-deps: installing ${missing[*]}"
"${as_root[@]}" DEBIAN_FRONTEND=noninteractive apt-get update -qq
"${as_root[@]}" DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
