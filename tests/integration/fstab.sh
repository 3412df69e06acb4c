#!/bin/bash
# fstab(5) conventions through mount(8): nofail skips a line whose layer,
# upperdir or workdir does not exist (exit 0, as mount(8) does for type
# overlay) and changes nothing else; what findmnt --verify says of a line.
. "$(dirname "$0")/lib.sh"
setup "$@"

mkdir -p l1 l2 u w m
echo one >l1/a
echo two >l2/b

# fstab_line OPTIONS: an fstab file of one cfsoverlay line on $WORK/m.
fstab_line() { printf 'overlay %s cfsoverlay %s 0 0\n' "$WORK/m" "$1" >"$WORK/fstab"; }
not_mounted() { ! mountpoint -q "$WORK/m"; }

# --- nofail and a missing path: skipped, exit 0, nothing mounted ------------
for missing in layer upperdir workdir; do
	lower=$WORK/l1:$WORK/l2 upper=$WORK/u work=$WORK/w
	case $missing in
	layer) lower=$WORK/l1:$WORK/gone ;;
	upperdir) upper=$WORK/gone ;;
	workdir) work=$WORK/gone ;;
	esac
	opts="lowerdir=$lower,upperdir=$upper,workdir=$work"
	fstab_line "$opts,nofail"
	expect_rc "missing $missing, nofail: mount -T FILE -a exits 0" 0 mount -T "$WORK/fstab" -a
	check "missing $missing, nofail: mount -a mounts nothing" not_mounted
	expect_rc "missing $missing, nofail: mount -T FILE TARGET exits 0" 0 mount -T "$WORK/fstab" "$WORK/m"
	check "missing $missing, nofail: mount TARGET mounts nothing" not_mounted
	run "$MOUNT_HELPER" overlay "$WORK/m" -v -o "$opts,nofail"
	if [ "$last_rc" -eq 0 ] && [[ $last_err == *"$missing $WORK/gone does not exist: nothing mounted (nofail)"* ]]; then
		ok "missing $missing, nofail: -v says it was skipped"
	else
		not_ok "missing $missing, nofail: -v says it was skipped"
		diag "exit $last_rc: $last_err"
	fi
	check "missing $missing, nofail: no utab entry" bash -c "! grep -qs 'TARGET=$WORK/m ' '$LIBMOUNT_UTAB'"
	# Without nofail the same line is an error, as before.
	fstab_line "$opts"
	expect_rc "missing $missing, no nofail: mount -T FILE TARGET fails" 32 mount -T "$WORK/fstab" "$WORK/m"
	check "missing $missing, no nofail: nothing mounted" not_mounted
done

# --- nofail changes nothing for every other error ---------------------------
echo file >notadir
fstab_line "lowerdir=$WORK/l1:$WORK/l2,upperdir=$WORK/notadir,workdir=$WORK/w,nofail"
expect_rc "nofail, upperdir not a directory: still fails" 32 mount -T "$WORK/fstab" "$WORK/m"
fstab_line "lowerdir=$WORK/l1:$WORK/l2,upperdir=$WORK/u,workdir=$WORK/w,uidmap=0:100000:65536,nofail"
expect_rc "nofail, uidmap without gidmap: still fails" 1 mount -T "$WORK/fstab" "$WORK/m"
fstab_line "lowerdir=$WORK/l1:$WORK/gone,uidmap=0:100000:bad,gidmap=0:100000:65536,nofail"
expect_rc "nofail, missing layer and a bad uidmap: the bad option fails first" 1 \
	mount -T "$WORK/fstab" "$WORK/m"
check "nofail, other errors: nothing mounted" not_mounted

# --- nofail on a line that can mount: mounted as usual ----------------------
fstab_line "lowerdir=$WORK/l1:$WORK/l2,upperdir=$WORK/u,workdir=$WORK/w,nofail"
expect_rc "nofail, everything present: mount -T FILE -a mounts" 0 mount -T "$WORK/fstab" -a
check "nofail, everything present: merged view" [ "$(cat m/a m/b 2>/dev/null)" = "$(printf 'one\ntwo')" ]
expect_rc "nofail, everything present: umount TARGET" 0 umount "$WORK/m"

# --- findmnt --verify ----------------------------------------------------------
# util-linux checks every line's source, type and on-disk type without asking
# the helper: a cfsoverlay line gets exactly these three warnings (documented
# in mount.cfsoverlay(8) NOTES) and no error; anything more is ours to fix.
if command -v findmnt >/dev/null; then
	fstab_line "lowerdir=$WORK/l1:$WORK/l2,upperdir=$WORK/u,workdir=$WORK/w,nofail"
	out=$(findmnt --verify --tab-file "$WORK/fstab" 2>&1)
	rc=$?
	want="[W] unreachable source: overlay: No such file or directory
[W] cfsoverlay seems unsupported by the current kernel
[W] cannot detect on-disk filesystem type (No such file or directory)"
	got=$(printf '%s\n' "$out" | sed -n 's/^ *\(\[[WE]\].*\)/\1/p')
	if [ $rc -eq 0 ] && [ "$got" = "$want" ] && [[ $out == *"0 errors, 3 warnings"* ]]; then
		ok "findmnt --verify: the three known warnings, no error"
	else
		not_ok "findmnt --verify: the three known warnings, no error"
		diag "exit $rc: $out"
	fi
	out=$(findmnt --verify --tab-file "$WORK/fstab" --types nocfsoverlay 2>&1)
	check "findmnt --verify --types nocfsoverlay: clean" [ "$out" = "Success, no errors or warnings detected" ]
else
	skip "findmnt --verify: the three known warnings, no error" "findmnt is not installed"
fi

assert_clean "fstab.sh"
done_testing
