# npm_peer.sh - sourced by the bench scripts: installs the npm peers exactly as
# bench/package-lock.json pins them and checks the installed version.
# Needs from the caller: $bench, $deps, $PY, and note()/die().

# npm_peer PACKAGE - makes sure $deps holds the locked packages (npm ci checks
# every tarball against the lock's integrity hash, EINTEGRITY on a mismatch),
# then sets peer_version and peer_integrity to PACKAGE's pin.
npm_peer() {
  local pkg=$1 want have
  if [[ ! -f $deps/node_modules/$pkg/package.json ]] ||
     ! cmp -s "$bench/package-lock.json" "$deps/package-lock.json" ||
     ! cmp -s "$bench/package.json" "$deps/package.json"; then
    note "installing the npm peers with npm ci into $deps"
    rm -rf "$deps"
    mkdir -p "$deps"
    cp "$bench/package.json" "$bench/package-lock.json" "$deps/"
    npm ci --prefix "$deps" --ignore-scripts --no-audit --no-fund >&2 ||
      { rm -rf "$deps"; die "npm ci failed (see above)"; }
  fi
  read -r want peer_integrity < <($PY - "$bench/package-lock.json" "$pkg" <<'PYEOF'
import json, sys
v = json.load(open(sys.argv[1]))["packages"]["node_modules/" + sys.argv[2]]
print(v["version"], v["integrity"])
PYEOF
  ) || die "cannot read the $pkg pin from bench/package-lock.json"
  have=$(node -p 'require(process.argv[1]).version' "$deps/node_modules/$pkg/package.json") ||
    die "cannot read the installed $pkg version"
  [[ $have == "$want" ]] ||
    die "installed $pkg $have differs from the pinned $want (rm -rf $deps and retry)"
  peer_version=$want
}
