#!/bin/bash
# How a container runtime uses cfsoverlay: it runs the helpers directly, as
# containerd and crun run mount helpers, not through mount(8).
#
# Usage (as root):
#   contrib/runtime-exec.sh BUNDLE LAYER...
#
#   BUNDLE    the container's directory; upper/, work/ and rootfs/ are made in it
#   LAYER...  the image layers, top layer first: directories, or erofs,
#             squashfs or ext4 image files (no "loop" option needed)
#
# It mounts BUNDLE/rootfs as an overlay of the layers, every layer idmapped so
# that ids 0-65535 in the layers show as 100000-165535 (set CFS_MAP to change
# that), lists the root of it, and unmounts it again with umount.cfsoverlay.
# It writes only inside BUNDLE and unmounts what it mounted, also on failure.
#
# What a runtime should take from it:
# - one -o per option; the helper joins every -o value with commas;
# - a colon, comma or backslash inside a layer path needs a backslash first;
# - a propagation option (rprivate) is applied by the helper itself on direct
#   exec (mount(8) would apply it instead, and never pass it on);
# - a runtime that already made the container's user namespace passes
#   -o cfs.userns=/proc/PID/ns/user instead of uidmap= and gidmap=;
# - exit codes are those of mount(8): 1 bad invocation, 2 system error,
#   32 mount failure; the reason is one line on stderr;
# - umount.cfsoverlay also removes copies of the mount that other mount
#   namespaces still hold, so the upper directory can be mounted again.
#
# Nothing runs this in CI; see mount.cfsoverlay(8) for every option.

set -eu

MOUNT_HELPER=${MOUNT_HELPER:-/sbin/mount.cfsoverlay}
UMOUNT_HELPER=${UMOUNT_HELPER:-/sbin/umount.cfsoverlay}
CFS_MAP=${CFS_MAP:-0:100000:65536}

if [ $# -lt 2 ]; then
	echo "usage: $0 BUNDLE LAYER..." >&2
	exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "$0: needs root" >&2
	exit 1
fi

bundle=$1
shift

# Overlay's escaping of one layer path: \ , and : get a backslash.
escape_layer() {
	local s=$1
	s=${s//\\/\\\\}
	s=${s//,/\\,}
	s=${s//:/\\:}
	printf '%s' "$s"
}

lowerdir=
for layer in "$@"; do
	lowerdir+=${lowerdir:+:}$(escape_layer "$(realpath -e "$layer")")
done

mkdir -p "$bundle/upper" "$bundle/work" "$bundle/rootfs"
bundle=$(realpath -e "$bundle")
rootfs=$bundle/rootfs

"$MOUNT_HELPER" overlay "$rootfs" \
	-o "lowerdir=$lowerdir" \
	-o "upperdir=$(escape_layer "$bundle/upper")" \
	-o "workdir=$(escape_layer "$bundle/work")" \
	-o "uidmap=$CFS_MAP" \
	-o "gidmap=$CFS_MAP" \
	-o nodev \
	-o rprivate
trap '"$UMOUNT_HELPER" "$rootfs"' EXIT

# The runtime would now pivot_root into $rootfs; here we only look at it.
ls -ln "$rootfs"

trap - EXIT
"$UMOUNT_HELPER" "$rootfs"
