#!/bin/bash
# When the user namespace for uidmap/gidmap cannot be made, the error names the
# real cause: a chroot, a container (a seccomp filter, its own user namespace),
# user.max_user_namespaces = 0, or else the kernel or a security module.  Each
# cause is made for real where the machine allows it; a refusal with no cause
# in sight is injected with strace.
. "$(dirname "$0")/lib.sh"
setup "$@"

mkdir -p l1 l2 m
MAPS="uidmap=0:100000:65536,gidmap=0:100000:65536"
OPTS="lowerdir=$WORK/l1:$WORK/l2,$MAPS"

# expect_cause DESC RC TEXT COMMAND...: exit RC and TEXT in the one error line.
expect_cause() {
	local desc=$1 rc=$2 text=$3
	shift 3
	run "$@"
	if [ "$last_rc" -eq "$rc" ] && [[ $last_err == *"cannot create a user namespace: "*"$text"* ]] &&
		[ "$(printf '%s\n' "$last_err" | wc -l)" -eq 1 ]; then
		ok "$desc"
	else
		not_ok "$desc"
		diag "expected exit $rc and '$text', got $last_rc: $last_err"
	fi
}
no_mount() { ! mountpoint -q "$1"; }

# LeakSanitizer stops the process with ptrace to scan it, which fails under
# strace: the traced runs below skip the leak check (the others keep it).
NO_LSAN="ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"

# --- a chroot: the kernel refuses CLONE_NEWUSER to chrooted processes --------
# A root of its own holding the helper and the libraries it loads.
R=$WORK/root
mkdir -p "$R/proc" "$R/l1" "$R/l2" "$R/m"
cp "$MOUNT_HELPER" "$R/"
libs_ok=yes
for lib in $(ldd "$MOUNT_HELPER" | grep -oE '/[^ ]+'); do
	mkdir -p "$R$(dirname "$lib")" && cp -L "$lib" "$R$lib" || libs_ok=no
done
if [ "$libs_ok" = yes ] && command -v chroot >/dev/null && mount --rbind /proc "$R/proc"; then
	expect_cause "in a chroot: the error says so" 1 "runs in a chroot" \
		chroot "$R" /mount.cfsoverlay overlay /m -o "lowerdir=/l1:/l2,$MAPS"
	check "in a chroot: nothing mounted" no_mount "$R/m"
	umount -R "$R/proc"
else
	skip "in a chroot: the error says so" "cannot build a chroot (ldd, chroot(8) or /proc bind)"
fi

# --- a container: a seccomp filter refuses CLONE_NEWUSER ---------------------
# The filter of a container runtime's default profile, reduced to that one
# refusal: clone(2) with CLONE_NEWUSER gets EPERM.  x86_64 numbers.
seccomp_exec() {
	python3 - "$@" <<-'PY'
		import ctypes, os, struct, sys
		AUDIT_ARCH_X86_64, NR_CLONE, CLONE_NEWUSER = 0xc000003e, 56, 0x10000000
		RET_ERRNO_EPERM, RET_ALLOW = 0x00050000 | 1, 0x7fff0000
		LD_ABS, JEQ, JSET, RET = 0x20, 0x15, 0x45, 0x06
		insns = [(LD_ABS, 0, 0, 4), (JEQ, 0, 5, AUDIT_ARCH_X86_64), (LD_ABS, 0, 0, 0),
		         (JEQ, 0, 3, NR_CLONE), (LD_ABS, 0, 0, 16), (JSET, 0, 1, CLONE_NEWUSER),
		         (RET, 0, 0, RET_ERRNO_EPERM), (RET, 0, 0, RET_ALLOW)]
		code = b"".join(struct.pack("HBBI", *i) for i in insns)
		buf = ctypes.create_string_buffer(code, len(code))
		prog = struct.pack("HxxxxxxQ", len(insns), ctypes.addressof(buf))
		libc = ctypes.CDLL(None, use_errno=True)
		PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 38, 22, 2
		if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 or \
		   libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.c_char_p(prog), 0, 0) != 0:
		    sys.exit(125)
		os.execv(sys.argv[1], sys.argv[1:])
	PY
}
if [ "$(uname -m)" = x86_64 ] && command -v python3 >/dev/null && seccomp_exec /bin/true; then
	expect_cause "seccomp filter: the error names the container" 1 "runs in a container (a seccomp filter)" \
		seccomp_exec "$MOUNT_HELPER" overlay "$WORK/m" -o "$OPTS"
	check "seccomp filter: nothing mounted" no_mount "$WORK/m"
else
	skip "seccomp filter: the error names the container" "needs x86_64 and python3 to install a seccomp filter"
fi

# --- a container's user namespace (root mapped to root only) ----------------
# Such a namespace may nest others, so its refusal is injected.
if unshare -U -r true 2>/dev/null && command -v strace >/dev/null; then
	expect_cause "own user namespace: the error names the container" 1 \
		"runs in a container (its own user namespace)" \
		unshare -U -r strace -f -qq -o /dev/null -e inject=clone:error=EPERM:when=1 \
		env "$NO_LSAN" "$MOUNT_HELPER" overlay "$WORK/m" -o "$OPTS"
else
	skip "own user namespace: the error names the container" "unshare -U -r or strace fails here"
fi

# --- user.max_user_namespaces = 0 --------------------------------------------
# The limit is per user namespace: set to 0 in a child one, never on the host.
if unshare -U -r sh -c 'echo 0 >/proc/sys/user/max_user_namespaces' 2>/dev/null; then
	expect_cause "user.max_user_namespaces = 0: the error says so" 2 \
		"user namespaces are disabled: user.max_user_namespaces is 0" \
		unshare -U -r sh -c 'echo 0 >/proc/sys/user/max_user_namespaces && exec "$@"' sh \
		"$MOUNT_HELPER" overlay "$WORK/m" -o "$OPTS"
else
	skip "user.max_user_namespaces = 0: the error says so" "cannot set the limit in a child user namespace"
fi
check "the host's user.max_user_namespaces is not 0" [ "$(cat /proc/sys/user/max_user_namespaces)" != 0 ]

# --- no cause in sight: a refusal injected on the host ----------------------
if command -v strace >/dev/null; then
	expect_cause "EPERM on the host, no chroot or container: kernel or security module" 1 \
		"the kernel or a security module refuses user namespaces" \
		strace -f -qq -o /dev/null -e inject=clone:error=EPERM:when=1 \
		env "$NO_LSAN" "$MOUNT_HELPER" overlay "$WORK/m" -o "$OPTS"
else
	skip "EPERM on the host: kernel or security module" "strace is not installed"
fi
check "nothing mounted on the target" no_mount "$WORK/m"
check "no helper process left" no_procs

assert_clean "userns.sh"
done_testing
