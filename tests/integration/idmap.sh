#!/bin/bash
# Idmapped lower layers (issue 3): ownership through the mount for single,
# multi-range and chained maps, ids outside the map, writes through the upper,
# lowers untouched, cfs.userns with an existing user namespace, refusals
# (uidmap alone, cfs.userns with uidmap, a filesystem that cannot be idmapped),
# idmapped bind mounts (bind, ro, rbind), and nothing left behind: no temp
# directory, no user-namespace child, no mount.  Both strategies.
. "$(dirname "$0")/lib.sh"
setup "$@"

MAP=0:100000:65536
IDMAP="uidmap=$MAP,gidmap=$MAP"
TMPBASE=$WORK/tmp
mkdir -m 0700 "$TMPBASE"

# Lower layers with files of several owners, one of them outside every map.
mkdir -p l1/sub l2 bsrc m
echo root >l1/root0
echo one >l1/user1 && chown 1:1 l1/user1
echo thousand >l1/user1000 && chown 1000:1000 l1/user1000
echo far >l1/out && chown 70000:70000 l1/out
echo deep >l1/sub/file
chmod 0640 l1/user1000
echo base >l2/b
echo bind >bsrc/root0
chmod 0755 bsrc
# Layers the shared idmapped clone of $WORK cannot serve: a mount below it
# (absent from the non-recursive clone, which shows what it hides) and an
# absolute symlink (refused by RESOLVE_BENEATH).
mkdir sm && echo hidden >sm/hidden
ln -s "$WORK/l2" link

# Owners, modes, sizes and contents of both lowers: compared at the end.
fingerprint() {
	(cd "$WORK" && find l1 l2 -printf '%U %G %m %s %y %p\n' | LC_ALL=C sort &&
		find l1 l2 -type f -exec sha256sum {} + | LC_ALL=C sort) | sha256sum
}
FP_BEFORE=$(fingerprint)

owner() { stat -c %u:%g "$1" 2>/dev/null; }
# is_owner DESC FILE WANT: one TAP line comparing FILE's uid:gid to WANT.
is_owner() {
	local got
	got=$(owner "$2")
	if [ "$got" = "$3" ]; then ok "$1"; else not_ok "$1"; diag "$2 is owned by '$got', expected $3"; fi
}
one_line() { [ "$(printf '%s\n' "$last_err" | wc -l)" -eq 1 ] && [[ $last_err == mount.cfsoverlay:* ]]; }
err_says() {
	local desc=$1 pattern=$2
	if one_line && grep -q -- "$pattern" <<<"$last_err"; then ok "$desc"; else not_ok "$desc"; diag "stderr: $last_err"; fi
}
# err_lacks PATTERN: the last command's stderr has no line matching it.
err_lacks() { ! grep -q -- "$1" <<<"$last_err"; }
not_mounted() { ! mountpoint -q "$WORK/m"; }
tmp_empty() { [ -z "$(ls -A "$TMPBASE")" ]; }
reset_upper() { rm -rf u w && mkdir u w; }
# No copy of the helper may survive in another user namespace: the child
# that holds the namespace while its maps are written must be reaped.
# Only this test's mount namespace counts: other tests may run helpers too.
no_userns_child() {
	local p me mnt
	me=$(readlink /proc/self/ns/user)
	mnt=$(readlink /proc/self/ns/mnt)
	for p in $(pgrep -x mount.cfsoverla); do # comm is cut at 15 characters
		[ "$(readlink "/proc/$p/ns/mnt" 2>/dev/null)" = "$mnt" ] || continue
		[ "$(readlink "/proc/$p/ns/user" 2>/dev/null)" != "$me" ] && return 1
	done
	return 0
}
# A user namespace held by a sleep, with maps written from here (root may
# write any map; unshare --map-users needs /etc/subuid entries for newuidmap).
USERNS_PIDS=()
make_userns() { # make_userns "UIDMAP LINE" "GIDMAP LINE" -> $ns_pid
	local i
	unshare --user sleep 600 &
	ns_pid=$!
	USERNS_PIDS+=("$ns_pid")
	for ((i = 0; i < 100; i++)); do
		[ "$(readlink "/proc/$ns_pid/ns/user")" != "$(readlink /proc/self/ns/user)" ] && break
		sleep 0.05
	done
	[ -n "$1" ] || return 0
	echo "$1" >"/proc/$ns_pid/uid_map" && echo deny >"/proc/$ns_pid/setgroups" &&
		echo "$2" >"/proc/$ns_pid/gid_map"
}
kill_userns() {
	local p
	for p in "${USERNS_PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	USERNS_PIDS=()
}
trap 'kill_userns; cleanup_work' EXIT

for api in new legacy; do
	A="cfs.api=$api,cfs.tmpdir=$TMPBASE"
	RW="lowerdir=$WORK/l1:$WORK/l2,upperdir=$WORK/u,workdir=$WORK/w"
	RO="lowerdir=$WORK/l1:$WORK/l2"
	reset_upper

	# Overlay mounts with cfs.api=new need overlay layers as fds (and
	# idmapped detached mounts as layers); where the kernel lacks them, the
	# refusal must say so, and the rest of this block cannot run.
	if [ "$api" = new ] && ! probe_new_api_layer_fds idmapped; then
		expect_rc "[$api] cfs.api=new refused on this kernel (exit 32)" 32 "$MOUNT_HELPER" overlay "$WORK/m" \
			-o "$RO,$IDMAP,$A"
		err_says "[$api] the refusal says what the kernel lacks" "kernel lacks"
		check "[$api] the refusal mounted nothing" not_mounted
		skip "[$api] idmapped overlay mounts: ownership, copy-up, shared clone, multi-range, chained maps, cfs.userns" \
			"$PROBE_REASON"
	else
		# 1. one range, with an upper: ownership, writes, copy-up
		expect_rc "[$api] idmapped mount uidmap=$MAP" 0 "$MOUNT_HELPER" overlay "$WORK/m" -o "$RW,$IDMAP,$A"
		is_owner "[$api] 0:0 in the lower shows as 100000:100000" m/root0 100000:100000
		is_owner "[$api] 1000:1000 shows as 101000:101000" m/user1000 101000:101000
		is_owner "[$api] 1:1 shows as 100001:100001" m/user1 100001:100001
		is_owner "[$api] directory 0:0 shows as 100000:100000" m/sub 100000:100000
		is_owner "[$api] a uid outside the map shows as the overflow id 65534" m/out 65534:65534
		is_owner "[$api] the non-idmapped upper's root stays 0:0" m 0:0
		check "[$api] contents readable through the mount" [ "$(cat m/user1000 m/sub/file m/b 2>/dev/null)" = "$(printf 'thousand\ndeep\nbase')" ]
		check "[$api] mode kept through the idmap" [ "$(stat -c %a m/user1000)" = 640 ]
		if [ "$api" = legacy ]; then
			check "[$api] temp location empty after mount" tmp_empty
		fi
		check "[$api] no user-namespace child of the helper remains" no_userns_child
		# A new file made by root lands in the (non-idmapped) upper as root's.
		check "[$api] create a file through the mount" bash -c 'echo new >m/new'
		check "[$api] the new file is in upperdir" [ "$(cat u/new 2>/dev/null)" = new ]
		is_owner "[$api] new file owned 0:0 in the upper (creator's ids, upper not idmapped)" u/new 0:0
		is_owner "[$api] new file shows 0:0 through the mount" m/new 0:0
		# Copy-up keeps the owner as the idmapped lower shows it.
		check "[$api] copy-up of a lower file" bash -c 'echo more >>m/root0'
		check "[$api] copied-up file has both lines" [ "$(cat m/root0)" = "$(printf 'root\nmore')" ]
		is_owner "[$api] copied-up file owned 100000:100000 in the upper (idmapped owner kept)" u/root0 100000:100000
		check "[$api] copy-up of the 1000:1000 file" bash -c 'echo more >>m/user1000'
		is_owner "[$api] copied-up 1000 file owned 101000:101000 in the upper" u/user1000 101000:101000
		check "[$api] copy-up kept mode 0640" [ "$(stat -c %a u/user1000)" = 640 ]
		check "[$api] chown of a lower file copies it up" chown 101000:101000 m/user1 # 100001 -> 101000
		is_owner "[$api] chowned copy-up in the upper" u/user1 101000:101000
		check "[$api] lower file untouched by copy-up" [ "$(cat l1/root0)" = root ]
		check "[$api] mkdir through the mount" mkdir m/newdir
		check "[$api] rm of a lower file leaves a whiteout" bash -c 'rm m/b && [ ! -e m/b ] && [ -c u/b ] && [ -f l2/b ]'
		expect_rc "[$api] umount.cfsoverlay" 0 "$UMOUNT_HELPER" "$WORK/m"
		check "[$api] unmounted" not_mounted
		if [ "$api" = legacy ]; then
			check "[$api] temp location empty after umount" tmp_empty
		fi

		# 1b. one idmapped clone shared by the layers, and the layers it cannot
		# serve (the submount is a tmpfs: idmappable only on newer kernels)
		if ! probe_idmap_fs tmpfs; then
			skip "[$api] layers on a submount and behind a symlink" "$PROBE_REASON"
		else
			mount -t tmpfs -o size=1m tmpfs sm && echo tmpfs >sm/onsub
			expect_rc "[$api] layers on a submount and behind a symlink" 0 "$MOUNT_HELPER" -v overlay "$WORK/m" \
				-o "lowerdir=$WORK/l1:$WORK/sm:$WORK/link,$IDMAP,$A"
			check "[$api] -v: 1 layer from the shared idmapped clone, 2 with their own" \
				grep -q "1 of 3 layers from the shared idmapped clone of $WORK, 2 with a clone of their own" <<<"$last_err"
			check "[$api] -v: the submount layer got its own clone" err_lacks "layer 1: .*in the shared clone"
			check "[$api] the submount's content, not what it hides" bash -c '[ "$(cat m/onsub)" = tmpfs ] && [ ! -e m/hidden ]'
			is_owner "[$api] the submount's file is idmapped" m/onsub 100000:100000
			check "[$api] the symlinked layer's content" [ "$(cat m/b 2>/dev/null)" = base ]
			is_owner "[$api] the symlinked layer's file is idmapped" m/b 100000:100000
			expect_rc "[$api] umount (shared clone)" 0 "$UMOUNT_HELPER" "$WORK/m"
			umount sm
			if [ "$api" = legacy ]; then
				check "[$api] temp location empty after umount (shared clone)" tmp_empty
			fi
		fi

		# 1c. new API: with no mount below the layers' directory (listmount
		# and statmount say so), the layers are taken from the shared clone
		# without a second lookup each on the host; a mount below it, more
		# mounts than layers, or no listmount(2) bring the lookups back.
		if [ "$api" = new ]; then
			if ! probe_idmap_fs tmpfs; then
				skip "[$api] no mount below the layers: one lookup each" "$PROBE_REASON"
			elif ! probe_listmount; then
				skip "[$api] no mount below the layers: one lookup each" "$PROBE_REASON"
			else
				# tr is a fresh tmpfs: nothing is mounted in it but what the
				# test puts there.  base2 shares base's prefix and is not below it.
				mkdir tr && mount -t tmpfs -o size=1m,mode=0755 tmpfs tr
				mkdir -p tr/base/1/fs tr/base/2/fs tr/base/3/fs tr/base2
				for i in 1 2 3; do echo "$i" >"tr/base/$i/fs/f$i"; done
				mount -t tmpfs -o size=1m tmpfs tr/base2
				tl="lowerdir=$WORK/tr/base/3/fs:$WORK/tr/base/2/fs:$WORK/tr/base/1/fs,$IDMAP,$A"
				expect_rc "[$api] no mount below the layers (a sibling with the same prefix)" 0 \
					"$MOUNT_HELPER" -v overlay "$WORK/m" -o "$tl"
				check "[$api] -v: no mount below, no second lookup" \
					grep -q "no mount below $WORK/tr/base: its layers were not looked up again" <<<"$last_err"
				check "[$api] -v: 3 of 3 layers from the shared clone" \
					grep -q "3 of 3 layers from the shared idmapped clone of $WORK/tr/base, 0 with" <<<"$last_err"
				check "[$api] the layers' content" [ "$(cat m/f1 m/f2 m/f3 2>/dev/null)" = "$(printf '1\n2\n3')" ]
				is_owner "[$api] the layers' files are idmapped" m/f2 100000:100000
				expect_rc "[$api] umount (no mount below)" 0 "$UMOUNT_HELPER" "$WORK/m"
				# A tmpfs on layer 2: its content, through a clone of its own.
				mount -t tmpfs -o size=1m tmpfs tr/base/2/fs && echo sub >tr/base/2/fs/onsub
				expect_rc "[$api] a mount below the layers' directory" 0 \
					"$MOUNT_HELPER" -v overlay "$WORK/m" -o "$tl"
				check "[$api] -v: a mount below, so each layer is looked up" \
					err_lacks "no mount below"
				check "[$api] -v: 2 of 3 from the shared clone, the mounted one on its own" \
					grep -q "2 of 3 layers from the shared idmapped clone of $WORK/tr/base, 1 with" <<<"$last_err"
				check "[$api] the mounted layer's content, not what it hides" \
					bash -c '[ "$(cat m/onsub)" = sub ] && [ ! -e m/f2 ]'
				expect_rc "[$api] umount (a mount below)" 0 "$UMOUNT_HELPER" "$WORK/m"
				umount tr/base/2/fs
				# More mounts on the directory's mount than layers: too many
				# to look at, so each layer is looked up instead.
				mkdir tr/x1 tr/x2 tr/x3
				for d in x1 x2 x3; do mount -t tmpfs -o size=1m tmpfs "tr/$d"; done
				expect_rc "[$api] more mounts than layers" 0 "$MOUNT_HELPER" -v overlay "$WORK/m" -o "$tl"
				check "[$api] -v: more mounts than layers, so each layer is looked up" \
					err_lacks "no mount below"
				check "[$api] more mounts than layers: the layers' content" \
					[ "$(cat m/f1 m/f2 m/f3 2>/dev/null)" = "$(printf '1\n2\n3')" ]
				expect_rc "[$api] umount (more mounts than layers)" 0 "$UMOUNT_HELPER" "$WORK/m"
				for d in x1 x2 x3; do umount "tr/$d"; done
				# Before Linux 6.8 there is no listmount(2) to ask.
				expect_rc "[$api] without listmount(2)" 0 "$CFS_BUILDDIR/tests/with_enosys" 458 \
					"$MOUNT_HELPER" -v overlay "$WORK/m" -o "$tl"
				check "[$api] -v: without listmount(2), each layer is looked up" \
					err_lacks "no mount below"
				is_owner "[$api] without listmount(2): layers idmapped" m/f3 100000:100000
				expect_rc "[$api] umount (without listmount(2))" 0 "$UMOUNT_HELPER" "$WORK/m"
				umount tr/base2 && umount tr && rmdir tr
			fi
		fi

		# 1d. a temp location whose mount propagates is made a private mount
		# first, so the temp layers never reach peer namespaces
		if [ "$api" = legacy ]; then
			mkdir -p shb && mount -t tmpfs -o size=1m,mode=0755 tmpfs shb && mount --make-shared shb
			mkdir -m 0700 shb/base
			expect_rc "[$api] temp location on a shared mount" 0 "$MOUNT_HELPER" -v overlay "$WORK/m" \
				-o "lowerdir=$WORK/l1:$WORK/l2,$IDMAP,cfs.api=legacy,cfs.tmpdir=$WORK/shb/base"
			check "[$api] -v: the shared temp location was made private" \
				grep -q "temp location $WORK/shb/base propagates: making it a private mount" <<<"$last_err"
			check "[$api] the temp location is a private mount now" \
				[ "$(findmnt -rn -o PROPAGATION --mountpoint "$WORK/shb/base")" = private ]
			expect_rc "[$api] umount (shared temp location)" 0 "$UMOUNT_HELPER" "$WORK/m"
			expect_rc "[$api] a second mount finds the temp location private" 0 "$MOUNT_HELPER" -v \
				overlay "$WORK/m" -o "lowerdir=$WORK/l1:$WORK/l2,$IDMAP,cfs.api=legacy,cfs.tmpdir=$WORK/shb/base"
			check "[$api] -v: nothing to make private the second time" \
				err_lacks "propagates"
			expect_rc "[$api] umount (private temp location)" 0 "$UMOUNT_HELPER" "$WORK/m"
			check "[$api] the temp location is empty" [ -z "$(ls -A shb/base)" ]
			umount shb/base && umount shb
			# The same before Linux 6.8, where mountinfo says how it propagates.
			mount -t tmpfs -o size=1m,mode=0755 tmpfs shb && mount --make-shared shb
			mkdir -m 0700 shb/base
			expect_rc "[$api] without statmount(2): temp location on a shared mount" 0 \
				"$CFS_BUILDDIR/tests/with_enosys" 457 "$MOUNT_HELPER" -v overlay "$WORK/m" \
				-o "lowerdir=$WORK/l1:$WORK/l2,$IDMAP,cfs.api=legacy,cfs.tmpdir=$WORK/shb/base"
			check "[$api] without statmount(2): made private, as mountinfo showed it shared" \
				grep -q "temp location $WORK/shb/base propagates: making it a private mount" <<<"$last_err"
			check "[$api] without statmount(2): a private mount now" \
				[ "$(findmnt -rn -o PROPAGATION --mountpoint "$WORK/shb/base")" = private ]
			is_owner "[$api] without statmount(2): layers idmapped" m/root0 100000:100000
			expect_rc "[$api] umount (without statmount(2))" 0 "$UMOUNT_HELPER" "$WORK/m"
			expect_rc "[$api] without statmount(2): a second mount finds it private" 0 \
				"$CFS_BUILDDIR/tests/with_enosys" 457 "$MOUNT_HELPER" -v overlay "$WORK/m" \
				-o "lowerdir=$WORK/l1:$WORK/l2,$IDMAP,cfs.api=legacy,cfs.tmpdir=$WORK/shb/base"
			check "[$api] without statmount(2): nothing to make private the second time" \
				err_lacks "propagates"
			expect_rc "[$api] umount (without statmount(2), private)" 0 "$UMOUNT_HELPER" "$WORK/m"
			umount shb/base && umount shb
		fi

		# 2. several ranges in one quoted value, through mount(8)
		MULTI='"0:1000:1 1:100000:65535"'
		expect_rc "[$api] mount -t cfsoverlay uidmap=\"0:1000:1 1:100000:65535\"" 0 \
			mount -t cfsoverlay overlay "$WORK/m" -o "$RO,uidmap=$MULTI,gidmap=$MULTI,$A"
		is_owner "[$api] multi-range: 0 -> 1000" m/root0 1000:1000
		is_owner "[$api] multi-range: 1 -> 100000" m/user1 100000:100000
		is_owner "[$api] multi-range: 1000 -> 100999" m/user1000 100999:100999
		is_owner "[$api] multi-range: 70000 outside -> 65534" m/out 65534:65534
		check "[$api] read-only overlay" bash -c '! touch m/x 2>/dev/null'
		expect_rc "[$api] umount (multi-range)" 0 umount "$WORK/m"
		check "[$api] unmounted (multi-range)" not_mounted

		# 3. chained triplets (fuse-overlayfs' form), direct exec
		expect_rc "[$api] chained triplets 0:100000:1:1:200000:65535" 0 "$MOUNT_HELPER" overlay "$WORK/m" \
			-o "$RO" -o "uidmap=0:100000:1:1:200000:65535" -o "gidmap=0:100000:1:1:200000:65535" -o "$A"
		is_owner "[$api] chained: 0 -> 100000" m/root0 100000:100000
		is_owner "[$api] chained: 1 -> 200000" m/user1 200000:200000
		is_owner "[$api] chained: 1000 -> 200999" m/user1000 200999:200999
		is_owner "[$api] chained: 70000 (past 1+65535) -> 65534" m/out 65534:65534
		expect_rc "[$api] umount (chained)" 0 "$UMOUNT_HELPER" "$WORK/m"
		check "[$api] no user-namespace child after the chained mount" no_userns_child

		# 4. cfs.userns: an existing user namespace
		make_userns "0 300000 65536" "0 300000 65536"
		expect_rc "[$api] cfs.userns=/proc/PID/ns/user" 0 "$MOUNT_HELPER" overlay "$WORK/m" \
			-o "$RO,cfs.userns=/proc/$ns_pid/ns/user,$A"
		is_owner "[$api] cfs.userns: 0 -> 300000" m/root0 300000:300000
		is_owner "[$api] cfs.userns: 1000 -> 301000" m/user1000 301000:301000
		expect_rc "[$api] umount (cfs.userns)" 0 "$UMOUNT_HELPER" "$WORK/m"
		unshare --user --map-root-user sleep 600 &
		root_pid=$!
		USERNS_PIDS+=("$root_pid")
		for ((i = 0; i < 100; i++)); do
			[ "$(awk '{print $1 $2 $3}' "/proc/$root_pid/uid_map" 2>/dev/null)" = 001 ] && break
			sleep 0.05
		done
		expect_rc "[$api] cfs.userns of unshare --map-root-user" 0 "$MOUNT_HELPER" overlay "$WORK/m" \
			-o "$RO,cfs.userns=/proc/$root_pid/ns/user,$A"
		is_owner "[$api] --map-root-user: 0 -> 0" m/root0 0:0
		is_owner "[$api] --map-root-user: 1000 unmapped -> 65534" m/user1000 65534:65534
		expect_rc "[$api] umount (--map-root-user)" 0 "$UMOUNT_HELPER" "$WORK/m"
		# A namespace with no maps yet: the kernel refuses to idmap with it
		# (EINVAL since "Return -EINVAL when no map is written"); the fault is the
		# namespace, not the filesystem, and the message must say so.
		make_userns "" ""
		run "$MOUNT_HELPER" overlay "$WORK/m" -o "$RO,cfs.userns=/proc/$ns_pid/ns/user,$A"
		check "[$api] cfs.userns of a namespace with no maps fails (exit 1 or 32)" \
			bash -c "[ $last_rc -eq 1 ] || [ $last_rc -eq 32 ]"
		if one_line && grep -q "cfs.userns\|user namespace" <<<"$last_err" &&
			! grep -q "filesystem does not support" <<<"$last_err"; then
			ok "[$api] no maps: the message blames the user namespace, not the filesystem"
		else
			not_ok "[$api] no maps: the message blames the user namespace, not the filesystem"
			diag "stderr: $last_err"
		fi
		check "[$api] no maps: nothing mounted" not_mounted
		kill_userns

	fi

	# 5. refusals before any side effect: exit 1, one line
	expect_rc "[$api] cfs.userns with uidmap is refused" 1 "$MOUNT_HELPER" overlay "$WORK/m" \
		-o "$RO,cfs.userns=/proc/self/ns/user,$IDMAP,$A"
	err_says "[$api] cfs.userns with uidmap: one line naming both" "cfs.userns.*uidmap"
	expect_rc "[$api] uidmap without gidmap is refused" 1 "$MOUNT_HELPER" overlay "$WORK/m" -o "$RO,uidmap=$MAP,$A"
	err_says "[$api] uidmap without gidmap: message names gidmap" gidmap
	expect_rc "[$api] gidmap without uidmap is refused" 1 "$MOUNT_HELPER" overlay "$WORK/m" -o "$RO,gidmap=$MAP,$A"
	err_says "[$api] gidmap without uidmap: message names uidmap" uidmap
	expect_rc "[$api] cfs.userns of a non-namespace is refused" 1 "$MOUNT_HELPER" overlay "$WORK/m" \
		-o "$RO,cfs.userns=$WORK/l1/root0,$A"
	err_says "[$api] cfs.userns of a regular file: not a user namespace" "not a user namespace"
	expect_rc "[$api] cfs.userns of a mount namespace is refused" 1 "$MOUNT_HELPER" overlay "$WORK/m" \
		-o "$RO,cfs.userns=/proc/self/ns/mnt,$A"
	expect_rc "[$api] malformed uidmap is refused" 1 "$MOUNT_HELPER" overlay "$WORK/m" \
		-o "$RO,uidmap=0:100000,gidmap=$MAP,$A"
	err_says "[$api] malformed uidmap: the text is quoted" "0:100000"
	check "[$api] refusals mounted nothing" not_mounted

	# 6. a lower filesystem that cannot be idmapped (ramfs lacks FS_ALLOW_IDMAP)
	mkdir -p ramfs
	mount -t ramfs cfs-test-ramfs ramfs && echo r >ramfs/r
	expect_rc "[$api] idmapped ramfs lower fails with exit 32" 32 "$MOUNT_HELPER" overlay "$WORK/m" \
		-o "lowerdir=$WORK/l1:$WORK/ramfs,$IDMAP,$A"
	err_says "[$api] ramfs: says the filesystem does not support idmapped mounts" \
		"ramfs: its filesystem does not support idmapped mounts"
	check "[$api] ramfs: nothing mounted" not_mounted
	check "[$api] ramfs: temp location empty" tmp_empty
	check "[$api] ramfs: no user-namespace child" no_userns_child
	expect_rc "[$api] idmapped bind of ramfs fails with exit 32" 32 "$MOUNT_HELPER" "$WORK/ramfs" "$WORK/m" \
		-o "bind,$IDMAP,$A"
	err_says "[$api] ramfs bind: says the filesystem does not support idmapped mounts" "does not support idmapped mounts"
	check "[$api] ramfs bind: nothing mounted" not_mounted
	umount ramfs

	# 7. idmapped bind mounts (direct exec only: mount(8) binds by itself)
	expect_rc "[$api] idmapped bind" 0 "$MOUNT_HELPER" "$WORK/bsrc" "$WORK/m" -o "bind,$IDMAP,$A"
	is_owner "[$api] bind: 0:0 shows as 100000:100000" m/root0 100000:100000
	check "[$api] bind: root cannot create (0 has no mapping)" bash -c '! touch m/byroot 2>/dev/null'
	check "[$api] bind: uid 100000 creates a file through it" \
		bash -c 'cd m && setpriv --reuid=100000 --regid=100000 --clear-groups sh -c "echo w >bymapped"'
	is_owner "[$api] bind: that file is 0:0 on disk" bsrc/bymapped 0:0
	is_owner "[$api] bind: and 100000:100000 through the bind" m/bymapped 100000:100000
	check "[$api] bind: utab records it" grep -q "TARGET=$WORK/m " "$LIBMOUNT_UTAB"
	expect_rc "[$api] umount.cfsoverlay of the bind" 0 "$UMOUNT_HELPER" "$WORK/m"
	check "[$api] bind: unmounted" not_mounted
	rm -f bsrc/bymapped

	expect_rc "[$api] idmapped read-only bind" 0 "$MOUNT_HELPER" "$WORK/bsrc" "$WORK/m" -o "bind,ro,$IDMAP,$A"
	is_owner "[$api] ro bind: 0:0 shows as 100000:100000" m/root0 100000:100000
	run bash -c 'echo x >>m/root0'
	check "[$api] ro bind: write fails with EROFS" grep -q "Read-only file system" <<<"$last_err"
	run bash -c 'cd m && setpriv --reuid=100000 --regid=100000 --clear-groups sh -c "echo w >new"'
	check "[$api] ro bind: create by a mapped uid fails with EROFS" grep -q "Read-only file system" <<<"$last_err"
	check "[$api] ro bind: the source is still writable" bash -c 'echo w >bsrc/w && rm bsrc/w'
	check "[$api] ro bind: mountinfo says ro,idmapped" bash -c "findmnt -rn -o VFS-OPTIONS --mountpoint '$WORK/m' | grep -q '^ro.*idmapped'"
	expect_rc "[$api] umount (ro bind)" 0 "$UMOUNT_HELPER" "$WORK/m"

	mkdir -p bsrc/sub
	mount -t tmpfs cfs-test-tmpfs bsrc/sub && echo t >bsrc/sub/t
	expect_rc "[$api] idmapped bind (not recursive) of a tree with a submount" 0 \
		"$MOUNT_HELPER" "$WORK/bsrc" "$WORK/m" -o "bind,$IDMAP,$A"
	check "[$api] bind: the submount is not there" [ ! -e m/sub/t ]
	expect_rc "[$api] umount (bind)" 0 "$UMOUNT_HELPER" "$WORK/m"
	if probe_idmap_fs tmpfs; then
		expect_rc "[$api] idmapped rbind" 0 "$MOUNT_HELPER" "$WORK/bsrc" "$WORK/m" -o "rbind,$IDMAP,$A"
		check "[$api] rbind: the submount is there" [ "$(cat m/sub/t 2>/dev/null)" = t ]
		is_owner "[$api] rbind: the submount (tmpfs) is idmapped too" m/sub/t 100000:100000
		is_owner "[$api] rbind: the top is idmapped" m/root0 100000:100000
		expect_rc "[$api] umount.cfsoverlay -l of the rbind" 0 "$UMOUNT_HELPER" -l "$WORK/m"
		check "[$api] rbind: unmounted" bash -c "! findmnt -rn -o TARGET | grep -q '^$WORK/m'"
	else
		# the whole recursive tree is idmapped or nothing: a tmpfs submount
		# that cannot be idmapped fails the rbind, and must say so
		expect_rc "[$api] idmapped rbind over a tmpfs submount fails (exit 32)" 32 \
			"$MOUNT_HELPER" "$WORK/bsrc" "$WORK/m" -o "rbind,$IDMAP,$A"
		err_says "[$api] rbind: says the filesystem does not support idmapped mounts" "does not support idmapped mounts"
		check "[$api] rbind: nothing mounted" not_mounted
		skip "[$api] idmapped rbind of a tree with a tmpfs submount" "$PROBE_REASON"
	fi
	umount bsrc/sub
	rmdir bsrc/sub

	check "[$api] lowers unchanged (owners, modes, sizes, contents)" [ "$(fingerprint)" = "$FP_BEFORE" ]
	check "[$api] no user-namespace child at the end" no_userns_child
	assert_clean "[$api] idmap" "$TMPBASE"
done

check "no utab line left" bash -c "! grep -q 'TARGET=$WORK/m ' '$LIBMOUNT_UTAB' 2>/dev/null"
done_testing
