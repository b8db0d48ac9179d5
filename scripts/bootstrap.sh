#!/usr/bin/env bash
# Installs what Heartbeat Monitor needs on a Debian/Ubuntu machine, then a virtualenv in .venv.
# Usage: scripts/bootstrap.sh [run|test]   (test adds the servers and tools the test suite uses)
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-run}

need=()
have_cmd() { command -v "$1" >/dev/null 2>&1; }
have_cmd redis-server || need+=(redis-server)
have_cmd python3 || need+=(python3)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need+=(python3-venv)
# the all-in-one runs the real alerting path (SPEC §18); the tests use promtool and amtool too
{ have_cmd prometheus && have_cmd promtool; } || need+=(prometheus)
{ have_cmd amtool && { have_cmd prometheus-alertmanager || have_cmd alertmanager; }; } || need+=(prometheus-alertmanager)
if [ "$mode" = test ]; then
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
  have_cmd chromium || need+=(chromium)
  # healthchecks' and Uptime Kuma's documented command lines are run as written (test_compat)
  have_cmd curl || need+=(curl)
  have_cmd wget || need+=(wget)
  # deploy/kubernetes is rendered with `kubectl kustomize` (test_kubernetes)
  have_cmd kubectl || need+=(kubernetes-client)
  # a CJK font, so that the status page's Chinese service names render (test_status_page checks)
  [ -n "$(fc-list :lang=zh 2>/dev/null)" ] || need+=(fonts-wqy-microhei)
fi
# a package can be installed with its command off PATH: only what dpkg lacks is installed, and
# only the daemons of packages installed by this run are stopped (a Redis or PostgreSQL that ran
# before is the user's, and stays running)
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
fresh=()
for package in ${need[@]+"${need[@]}"}; do
  installed "$package" || fresh+=("$package")
done
if [ ${#fresh[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  echo "installing Debian packages: ${fresh[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${fresh[@]}" >/dev/null
  # the Debian packages start their own daemons; the project starts private ones instead
  for package in "${fresh[@]}"; do
    case "$package" in
      redis-server | prometheus | prometheus-alertmanager | postgresql)
        $sudo service "$package" stop >/dev/null 2>&1 || true ;;
    esac
  done
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
extra=""
[ "$mode" = test ] && extra="[dev]"
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".$extra" 2>&1 | grep -v -i '^warning' || true
.venv/bin/python -c 'import heartbeat_receiver, exporter, heartbeat_agent' # fail here if the install did
