#!/bin/bash
# test_webui.sh BOUNCECHECK - end-to-end tests of the web UI (issue 8) in
# headless Chromium, against `bouncecheck serve` online in the test world
# (tests/world/up.sh: NSD, Postfix, postgrey in a fresh network namespace).
# Brings the world up, installs axe-core as tests/webui/package-lock.json pins
# it (npm ci, which checks the tarball's integrity hash) into
# $BC_BUILD_ROOT/webui-deps, then runs tests/webui/test_webui.py inside the
# namespace: the server, chromedriver and chromium all live there.
# Screenshots go to $BC_BUILD_ROOT/test-artifacts/webui/. Brings the world down
# on exit, whatever happened. Needs root, chromium, chromium-driver and
# python3-selenium (scripts/deps.sh test); skips without them. Prints TAP.
# Environment: BC_WORLD_KEEP=1 keeps the state directory and prints its path.
set -u

bin=${1:?usage: test_webui.sh path/to/bouncecheck}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
world="$here/../world"
case $bin in /*) ;; *) bin="$PWD/$bin" ;; esac
py=/usr/bin/python3
build_root=${BC_BUILD_ROOT:-$(cd "$(dirname "$bin")" && pwd)}
export BC_BUILD_ROOT="$build_root"

# shellcheck source=tests/world/preflight.sh
. "$world/preflight.sh"
world_preflight nsd postfix postgrey openssl ip curl "$py" chromium chromedriver
if ! "$py" -c 'import selenium' 2>/dev/null; then
    echo "1..0 # SKIP python3-selenium is not installed (scripts/deps.sh test)"
    exit 0
fi

# axe-core for the accessibility checks, pinned by the lock. Without the
# network those checks are skipped (said so), never failed; a tarball whose
# hash differs from the lock (EINTEGRITY) or a wrong version fails them.
deps="$build_root/webui-deps"
axe_setup() {
    local want have
    if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
        BC_AXE_SKIP="npm or node is not installed"
        return
    fi
    if [[ ! -f $deps/node_modules/axe-core/axe.min.js ]] ||
       ! cmp -s "$here/package-lock.json" "$deps/package-lock.json" ||
       ! cmp -s "$here/package.json" "$deps/package.json"; then
        rm -rf "$deps"
        mkdir -p "$deps"
        cp "$here/package.json" "$here/package-lock.json" "$deps/"
        if ! timeout 300 npm ci --prefix "$deps" --ignore-scripts --no-audit --no-fund > "$deps/npm.log" 2>&1; then
            if grep -q EINTEGRITY "$deps/npm.log"; then
                BC_AXE_FAIL="npm ci: the axe-core tarball does not match the lock's integrity hash"
            else
                BC_AXE_SKIP="npm ci could not install axe-core (registry unreachable?): $(grep -m1 -i 'err' "$deps/npm.log")"
            fi
            sed 's/^/# npm: /' "$deps/npm.log" | tail -n 5
            rm -rf "$deps/node_modules"
            return
        fi
    fi
    want=$("$py" -c 'import json, sys; print(json.load(open(sys.argv[1]))["packages"]["node_modules/axe-core"]["version"])' \
        "$here/package-lock.json")
    have=$(node -p 'require(process.argv[1]).version' "$deps/node_modules/axe-core/package.json" 2>/dev/null)
    if [[ $have != "$want" ]]; then
        BC_AXE_FAIL="installed axe-core $have differs from the pinned $want"
        return
    fi
    export BC_AXE_JS="$deps/node_modules/axe-core/axe.min.js" BC_AXE_VERSION="$have"
}
BC_AXE_SKIP="" BC_AXE_FAIL=""
axe_setup

world_state bc-webui

# The world, and the engine options of test_api_world.sh in BC_ENGINE_ARGS.
world_up
n=1
if [[ -n $BC_AXE_FAIL ]]; then
    n=$((n + 1)); echo "not ok $n - axe-core installs as pinned by tests/webui/package-lock.json"
    echo "# $BC_AXE_FAIL"
    BC_AXE_SKIP="axe-core did not install (see the failure above)"
elif [[ -z $BC_AXE_SKIP ]]; then
    n=$((n + 1))
    echo "ok $n - axe-core $BC_AXE_VERSION installs as pinned by tests/webui/package-lock.json (npm ci checks its hash)"
fi
[[ -n $BC_AXE_SKIP ]] && echo "# the accessibility checks will be skipped: $BC_AXE_SKIP"
export BC_AXE_SKIP BC_TAP_START=$n

# Everything from here runs inside the namespace (its loopback is up): the
# browser reaches the server on 127.0.0.1 and the world's DNS and MX hosts.
ip netns exec "$NS" "$py" -B "$here/test_webui.py" "$bin" "$state"
