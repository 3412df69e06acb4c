#!/bin/sh
# Installs what building and testing cfsoverlay needs on Debian 12 (as root),
# one line per step and a progress line every 10 % while apt-get works.
set -e
export DEBIAN_FRONTEND=noninteractive
PACKAGES="build-essential autoconf automake libtool pkg-config
	libmount-dev libblkid-dev libcap-ng-dev libcriterion-dev
	util-linux mount e2fsprogs erofs-utils squashfs-tools strace
	man-db groff-base valgrind clang clang-format libclang-rt-14-dev llvm python3 procps libcap2-bin time
	bash-completion"

# shellcheck disable=SC2086
missing=$(dpkg-query -W -f '${Package} ${db:Status-Status}\n' $PACKAGES 2>/dev/null |
	awk '$2 == "installed" { ok[$1] = 1 } END { n = split(pkgs, p, " "); for (i = 1; i <= n; i++) if (!ok[p[i]]) print p[i] }' \
		pkgs="$(echo $PACKAGES)")
total=$(echo $PACKAGES | wc -w)
if [ -z "$missing" ]; then
	echo "install-deps: all $total packages are installed"
	exit 0
fi
log=$(mktemp /tmp/cfsoverlay-apt.XXXXXX)
rcfile=$(mktemp /tmp/cfsoverlay-apt-rc.XXXXXX)
trap 'rm -f "$log" "$rcfile"' EXIT

echo "install-deps: updating the package lists (apt-get update)"
if ! apt-get update -qq >"$log" 2>&1; then
	cat "$log" >&2
	exit 1
fi
# shellcheck disable=SC2086
n=$(echo $missing | wc -w)
[ "$n" -gt 5 ] && slow=" (a minute or two on a fresh machine)" || slow=
echo "install-deps: installing $n of $total packages with their dependencies$slow"
# apt-get writes "dlstatus:PKG:PERCENT:TEXT" (download) and "pmstatus:..."
# (unpack, configure) lines to APT::Status-Fd: one line per 10 % of each.
# shellcheck disable=SC2086
{
	apt-get install -y -q --no-install-recommends -o APT::Status-Fd=3 $missing 3>&1 >"$log" 2>&1
	echo $? >"$rcfile"
} | awk -F: '
	$1 == "dlstatus" || $1 == "pmstatus" {
		stage = $1 == "dlstatus" ? "downloading" : "installing"
		pct = int($3 / 10) * 10
		if (stage != last_stage || pct > last_pct) {
			printf "install-deps:   %s %3d%% (%s)\n", stage, pct, $4
			fflush()
			last_stage = stage; last_pct = pct
		}
	}'
rc=$(cat "$rcfile")
if [ "$rc" != 0 ]; then
	tail -20 "$log" >&2
	echo "install-deps: apt-get install failed (exit $rc)" >&2
	exit 1
fi
echo "install-deps: done"
