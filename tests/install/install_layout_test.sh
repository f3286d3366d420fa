#!/usr/bin/env bash
# `make install`'s layout: cmake --install of the build under test into a scratch DESTDIR puts
# the binary, the systemd unit (ExecStart at the installed binary), the help text of every
# command and the env file example where the README says, and the installed binary runs.
set -euo pipefail
build=$1
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
DESTDIR="$dest" cmake --install "$build" --prefix /opt/walcast >/dev/null
fail() { echo "FAIL: $*" >&2; exit 1; }
[ -x "$dest/opt/walcast/bin/walcast" ] || fail "bin/walcast missing"
unit="$dest/opt/walcast/lib/systemd/system/walcast.service"
[ -f "$unit" ] || fail "walcast.service missing"
grep -qx 'ExecStart=/opt/walcast/bin/walcast serve' "$unit" || fail "ExecStart: $(grep ExecStart "$unit")"
grep -qx 'EnvironmentFile=/etc/walcast/walcast.env' "$unit" || fail "EnvironmentFile"
help="$dest/opt/walcast/share/doc/walcast/walcast-help.txt"
for cmd in "walcast  --help" "walcast serve --help" "walcast tail --help" "walcast db check --help" "walcast token --help"; do
  grep -qF "==> $cmd" "$help" || fail "help of '$cmd' missing"
done
grep -q 'SLOT_NAME' "$help" || fail "help lacks the env names"
[ -f "$dest/opt/walcast/share/doc/walcast/walcast.env.example" ] || fail "env example missing"
"$dest/opt/walcast/bin/walcast" --version >/dev/null || fail "installed binary does not run"
echo "install layout ok"
