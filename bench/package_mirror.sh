#!/usr/bin/env bash
# Prints (never asserts) how long a set of the workstation image's packages takes through
# the city's package mirror: straight from Debian, then through the mirror twice (first
# pass, then warm). The first pass is cold only for the packages the mirror has not
# served before. The mirror is the lab's (tools/package_mirror_url.py), or PROXY=URL.
set -euo pipefail
cd "$(dirname "$0")/.."
proxy=${PROXY:-$(python tools/package_mirror_url.py inventory/lab/lab.city.yml)}
packages=${PACKAGES:-"libreoffice-core libreoffice-writer firefox-esr thunderbird hunspell-sv"}
[ -n "$proxy" ] || { echo "no package mirror in the inventory" >&2; exit 1; }
curl -s -o /dev/null --max-time 5 "$proxy/acng-report.html" \
  || { echo "the package mirror $proxy does not answer (is the lab up with mirror1?)" >&2; exit 1; }

# shellcheck disable=SC2086  # the package names are words
urls=$(apt-get -q --print-uris download $packages 2>/dev/null | awk -F"'" '{print $2}')
fetch() {  # seconds and MiB of fetching every URL, through $1 (empty: directly)
  for url in $urls; do
    curl -sf ${1:+-x "$1"} -o /dev/null -w '%{time_total} %{size_download}\n' "$url"
  done | awk '{ s += $1; b += $2 } END { printf "%6.2f s  %6.1f MiB\n", s, b / 1048576 }'
}
echo "packages:          $packages ($(echo "$urls" | wc -w) files)"
echo "mirror:            $proxy"
echo "direct from Debian: $(fetch '')"
echo "mirror, 1st pass:   $(fetch "$proxy")"
echo "mirror, warm:       $(fetch "$proxy")"
