#!/bin/sh
# Installs what building and testing cfsoverlay needs on Debian 12 (as root).
set -e
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends \
	build-essential autoconf automake libtool pkg-config \
	libmount-dev libblkid-dev libcap-ng-dev libcriterion-dev \
	util-linux mount e2fsprogs erofs-utils squashfs-tools strace \
	man-db groff-base valgrind clang clang-format libclang-rt-14-dev llvm libcap2-bin time >/dev/null
