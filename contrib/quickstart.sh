#!/bin/sh
# Quick start on a fresh Debian 12 machine, as root: install the dependencies,
# build, install the helpers into /sbin, then mount and unmount a small demo
# overlay with idmapped lower layers.  One line per step.
set -e
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "quickstart: run as root" >&2; exit 1; }
jobs=$(nproc)
step() { echo "quickstart: [$1/6] $2"; }

step 1 "installing the build dependencies (contrib/install-deps.sh)"
contrib/install-deps.sh
step 2 "generating configure (./autogen.sh)"
# autoreconf lists every file it copies on stderr: show its output only when
# it fails.
log=$(mktemp /tmp/cfsoverlay-autogen.XXXXXX)
./autogen.sh >"$log" 2>&1 || { cat "$log" >&2; rm -f "$log"; exit 1; }
rm -f "$log"
step 3 "configuring in _build (../configure)"
mkdir -p _build
(cd _build && ../configure -q)
step 4 "building (make -j$jobs, about half a minute)"
(cd _build && make -s -j"$jobs" >/dev/null) # errors and warnings still reach stderr
step 5 "installing mount.cfsoverlay and umount.cfsoverlay into /sbin (make install)"
(cd _build && make -s install >/dev/null)

step 6 "mounting and unmounting a demo overlay of three idmapped layers"
demo=$(mktemp -d /tmp/cfsoverlay-demo.XXXXXX)
trap 'umount "$demo/merged" 2>/dev/null || true; rm -rf --one-file-system "$demo"' EXIT
mkdir -p "$demo/layer1" "$demo/layer2" "$demo/layer3" "$demo/upper" "$demo/work" "$demo/merged"
echo "from layer 1" >"$demo/layer1/one"
echo "from layer 2" >"$demo/layer2/two"
echo "from layer 3" >"$demo/layer3/three"

echo "+ mount -t cfsoverlay overlay $demo/merged -o lowerdir=...,uidmap=0:100000:65536,gidmap=0:100000:65536"
mount -t cfsoverlay overlay "$demo/merged" \
	-o "lowerdir=$demo/layer1:$demo/layer2:$demo/layer3,upperdir=$demo/upper,workdir=$demo/work,uidmap=0:100000:65536,gidmap=0:100000:65536"
echo "+ ls -ln $demo/merged   (files owned by 0 on disk appear as 100000)"
ls -ln "$demo/merged"
echo "+ findmnt $demo/merged"
findmnt "$demo/merged"
echo "+ umount $demo/merged   (runs umount.cfsoverlay through helper=cfsoverlay in utab)"
umount "$demo/merged"
echo "quickstart: done; next: tests/check.sh (the test suite, see README)"
