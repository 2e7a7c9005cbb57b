#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# tests/newest/trixie.sh PACKAGE…
#
# Builds Castellan with warnings as errors in a Debian 13 (trixie) chroot,
# the nearest Debian to the Flatpak's GNOME runtime (GCC 14, GTK 4.18,
# libadwaita 1.7, libsoup 3.6, VTE 0.80), and runs the unit and lab suites
# there; the GUI suite stays on the host. PACKAGE… are the Debian 12 names
# of what to install; the few that trixie renamed are mapped below.
#
# The chroot is kept in $CASTELLAN_NEWEST_CACHE (/var/cache/castellan/trixie)
# and made anew only when the package list or this setup changes; the
# mirror is the one this machine's apt uses, or $CASTELLAN_DEBIAN_MIRROR.
# Every mount lives in a private mount namespace (unshare), so it is gone
# when the run ends, however it ends. Needs root.
set -euo pipefail

SUITE=trixie
# Bump when the chroot's setup changes, so kept chroots are made anew.
SETUP_VERSION=1
SOURCE=$(cd "$(dirname "$(readlink -f "$0")")/../.." && pwd)
CACHE=${CASTELLAN_NEWEST_CACHE:-/var/cache/castellan/$SUITE}
ROOT=$CACHE/root
TRIES=3

# Debian 12 name → trixie name; an empty name drops the package.
declare -A RENAMED=(
  [libclang-rt-14-dev]=
)

STARTED=$SECONDS
say() { printf '\033[1m[%s %4ds] %s\033[0m\n' "$SUITE" $((SECONDS - STARTED)) "$*" >&2; }
die() { say "error: $*"; exit 1; }

((EUID == 0)) || die "needs root (debootstrap, chroot and mounts)"
for tool in debootstrap unshare chroot flock timeout; do
  command -v "$tool" >/dev/null || die "$tool is missing (Debian packages debootstrap, util-linux, coreutils)"
done

packages=()
for pkg in "$@"; do
  if [[ -v RENAMED[$pkg] ]]; then
    [[ -n ${RENAMED[$pkg]} ]] && packages+=("${RENAMED[$pkg]}")
  else
    packages+=("$pkg")
  fi
done
mapfile -t packages < <(printf '%s\n' "${packages[@]}" | sort -u)
stamp=$(printf '%s\n' "setup $SETUP_VERSION" "${packages[@]}" | sha256sum | cut -d' ' -f1)

# The Debian mirror this machine's apt reads, so the chroot comes from the
# same place: the first source whose suite is this machine's own release.
host_mirror() {
  /usr/bin/python3 - <<'PY'
import glob, os, re
codename = ""
with open("/etc/os-release") as f:
    for line in f:
        if line.startswith("VERSION_CODENAME="):
            codename = line.split("=", 1)[1].strip().strip('"')
found = []
for path in ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*.list")):
    try:
        lines = open(path).read().splitlines()
    except OSError:
        continue
    for line in lines:
        parts = re.sub(r"\[[^]]*\]", "", line.split("#", 1)[0]).split()
        if len(parts) >= 3 and parts[0] == "deb":
            found.append((parts[1], [parts[2]]))
for path in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
    try:
        stanzas = open(path).read().split("\n\n")
    except OSError:
        continue
    for stanza in stanzas:
        fields = {}
        for line in stanza.splitlines():
            if ":" in line and not line.startswith(("#", " ")):
                key, value = line.split(":", 1)
                fields[key.strip().lower()] = value.split()
        if "deb" in fields.get("types", []) and fields.get("uris"):
            found.append((fields["uris"][0], fields.get("suites", [])))
for uri, suites in found:
    if codename in suites:
        print(uri.rstrip("/"))
        break
PY
}

MIRROR=${CASTELLAN_DEBIAN_MIRROR:-$(host_mirror)}
[[ -n $MIRROR ]] || die "no Debian mirror found in /etc/apt/sources.list*; set CASTELLAN_DEBIAN_MIRROR to one (a URL ending in /debian)"

# Bounded retries around a step that reads the network.
retry() {
  local what=$1 try; shift
  for ((try = 1; try <= TRIES; try++)); do
    "$@" && return 0
    ((try < TRIES)) && { say "$what failed (try $try of $TRIES); again in $((try * 10)) s"; sleep $((try * 10)); }
  done
  return 1
}

mirror_answers() {
  /usr/bin/python3 - "$MIRROR/dists/$SUITE/Release" <<'PY'
import sys, urllib.request
try:
    with urllib.request.urlopen(sys.argv[1], timeout=20) as r:
        r.read(1)
except Exception as e:
    print(f"  {sys.argv[1]}: {e}", file=sys.stderr)
    sys.exit(1)
PY
}

# No mount below a path that is about to be deleted (belt and braces: all
# mounts here are in private namespaces).
assert_unmounted() {
  if grep -qF " $1/" /proc/self/mountinfo; then
    die "something is still mounted below $1; unmount it (see findmnt -R $1) and run again"
  fi
}

# in_chroot TIMEOUT CMD…: CMD in the chroot with /proc, /dev, /dev/pts and
# a fresh /tmp, the source read-only at /src/castellan (and the recorded
# fixtures at /src/shared when they are beside it), in its own mount and
# PID namespaces: when CMD ends, or TIMEOUT passes, every process it left
# is killed and every mount is gone.
in_chroot() {
  local limit=$1; shift
  timeout --kill-after=30 "$limit" \
    unshare --mount --pid --fork --propagation private --kill-child \
    /bin/bash -euc '
      root=$1 source=$2; shift 2
      mount -t proc proc "$root/proc"
      mount --rbind /dev "$root/dev"
      mount -t tmpfs -o mode=1777 tmpfs "$root/tmp"
      # A tmpfs holds the mount points, so none is left in the chroot.
      mount -t tmpfs -o mode=755 tmpfs "$root/src"
      mkdir "$root/src/castellan"
      mount --bind "$source" "$root/src/castellan"
      mount -o remount,bind,ro "$root/src/castellan"
      if [[ -d $source/../shared ]]; then
        mkdir "$root/src/shared"
        mount --bind "$source/../shared" "$root/src/shared"
        mount -o remount,bind,ro "$root/src/shared"
      fi
      # This shell stays PID 1 and reaps the daemons the lab leaves to it,
      # so that a PID the tests stopped is gone, not a zombie.
      status=0
      chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
        HOME=/root LANG=C.UTF-8 TERM="${TERM:-dumb}" DEBIAN_FRONTEND=noninteractive \
        "$@" || status=$?
      exit "$status"
    ' bash "$ROOT" "$SOURCE" "$@"
}

install_packages() {
  in_chroot 1800 apt-get -q -o Acquire::Retries=3 -o Dpkg::Use-Pty=0 update >/dev/null &&
    in_chroot 1800 apt-get -q -y -o Acquire::Retries=3 -o Dpkg::Use-Pty=0 \
      --no-install-recommends install "${packages[@]}" >"$CACHE/apt.log" 2>&1 ||
    { tail -n 20 "$CACHE/apt.log" >&2; return 1; }
}

NEW=$CACHE/root.new
bootstrap() {
  local new=$NEW
  assert_unmounted "$new"
  rm -rf --one-file-system "$new"
  # debootstrap mounts /proc and /sys in the target itself: a namespace of
  # its own drops them even when it fails halfway.
  timeout --kill-after=30 900 unshare --mount --propagation private \
    debootstrap --variant=minbase --keyring=/usr/share/keyrings/debian-archive-keyring.gpg \
    "$SUITE" "$new" "$MIRROR" >"$CACHE/debootstrap.log" 2>&1 ||
    { tail -n 5 "$CACHE/debootstrap.log" >&2; return 1; }
  # Daemons that packages start (the KDC) are started by the tests instead.
  printf '#!/bin/sh\nexit 101\n' >"$new/usr/sbin/policy-rc.d"
  chmod 755 "$new/usr/sbin/policy-rc.d"
  mkdir -p "$new/src"
}

make_root() {
  say "Making the $SUITE chroot in $ROOT from $MIRROR (once; a few minutes)"
  retry "Reaching $MIRROR" mirror_answers ||
    die "Debian's mirror $MIRROR does not answer: the $SUITE chroot is made from it once and then kept. Check the network, or set CASTELLAN_DEBIAN_MIRROR to a reachable mirror."
  retry "debootstrap" bootstrap || die "debootstrap of $SUITE failed $TRIES times; its log is $CACHE/debootstrap.log"
  local kept=$ROOT
  ROOT=$NEW
  say "Installing ${#packages[@]} packages in the chroot"
  retry "apt-get install" install_packages || die "installing packages in $SUITE failed; the log is $CACHE/apt.log"
  ROOT=$kept
  assert_unmounted "$ROOT"
  rm -f "$CACHE/stamp"
  rm -rf --one-file-system "$ROOT"
  mv "$NEW" "$ROOT"
  echo "$stamp" >"$CACHE/stamp"
}

mkdir -p "$CACHE"
exec 9>"$CACHE/lock"
if ! flock -n 9; then
  say "Waiting for another run that holds $CACHE/lock (at most 60 min)"
  flock -w 3600 9 || die "$CACHE/lock stayed held for an hour; is a run stuck? (fuser -v $CACHE/lock)"
fi

if [[ ! -x $ROOT/usr/bin/apt-get || ! -f $CACHE/stamp || ${CASTELLAN_NEWEST_FRESH:-0} == 1 ]]; then
  make_root
elif [[ $(cat "$CACHE/stamp") != "$stamp" ]]; then
  say "The package list changed: updating the $SUITE chroot"
  retry "apt-get install" install_packages || die "installing packages in $SUITE failed; the log is $CACHE/apt.log"
  echo "$stamp" >"$CACHE/stamp"
else
  say "Using the $SUITE chroot kept in $ROOT"
fi

# One build directory, kept between runs of the same clone; another clone
# starts afresh, as its files' times say nothing about the kept objects.
build=$ROOT/build
if [[ -d $build && $(cat "$build/.castellan-source" 2>/dev/null) != "$SOURCE" ]]; then
  rm -rf --one-file-system "$build"
fi
mkdir -p "$build"
echo "$SOURCE" >"$build/.castellan-source"
# No summary from an earlier run when this one stops before the tests.
rm -f "$build/meson-logs/testlog.json"

say "Building with $(in_chroot 60 gcc --version | head -n 1), warnings as errors"
in_chroot 1800 /bin/sh -ec '
  if [ -f /build/build.ninja ]; then
    meson configure /build -Dwerror=true
  else
    meson setup /build /src/castellan --prefix=/usr -Dwerror=true >/dev/null
  fi
  meson compile -C /build' || die "the build failed in $SUITE (above)"

say "Running the unit and lab suites"
status=0
in_chroot 3000 meson test -C /build --suite unit --suite lab --print-errorlogs \
  --num-processes 2 || status=$?
say "Done in $((SECONDS - STARTED)) s"
exit "$status"
