#!/bin/bash
# Documentation against the code: the man pages render without warnings, and
# every option the code accepts (the helper options of src/options.c, the
# getopt options of helpers/*.c, libmount's flag and propagation names, what
# --help prints) is documented in the man pages.  Exit codes of src/errors.h
# are listed, and the contrib examples are well-formed.
#
# Needs no root and mounts nothing: it does not call setup() from lib.sh.
. "$(dirname "$0")/lib.sh"

MAN_MOUNT=$CFS_SRCDIR/man/mount.cfsoverlay.8
MAN_UMOUNT=$CFS_SRCDIR/man/umount.cfsoverlay.8
OPTIONS_C=$CFS_SRCDIR/src/options.c
ERRORS_H=$CFS_SRCDIR/src/errors.h
T=$(mktemp -d /tmp/cfs-docs.XXXXXX)
trap 'rm -rf "$T"' EXIT

for f in "$MAN_MOUNT" "$MAN_UMOUNT" "$OPTIONS_C" "$ERRORS_H"; do
	[ -r "$f" ] || skip_all "$f is missing (CFS_SRCDIR=$CFS_SRCDIR)"
done

# roff source to plain words: \- to -, drop \& and font escapes, \e to \.
roff_plain() {
	sed -e 's/\\-/-/g' -e 's/\\&//g' -e 's/\\f[BIRP]//g' -e 's/\\f(..//g' \
		-e 's/\\e/\\/g' -e 's/\\(aq/'"'"'/g' "$@"
}

# tags FILE [SECTION]: the tag lines of .TP paragraphs (of one .SH section
# when given), macro names and quotes removed, one per line.
tags() {
	roff_plain "$1" | awk -v want="${2:-}" '
		/^\.SH / { sec = $0; sub(/^\.SH +/, "", sec); gsub(/"/, "", sec); next }
		want != "" && sec != want { tp = 0; next }
		/^\.TP/ { tp = 1; next }
		tp { tp = 0; sub(/^\.(B|I|BR|BI|IB|RB|IR|RI) +/, ""); gsub(/"/, ""); print }'
}

# has_tag WORD TAGFILE: WORD is an option named in one of the tags, alone or
# as WORD=..., WORD.*, WORD{...}.
has_tag() {
	local w=$1 f=$2
	grep -Eq -- "(^|[[ ,|{(])$(printf '%s' "$w" | sed 's/[.[\*^$]/\\&/g')(=|[] ,|})]|\$)" "$f"
}

# check_tags DESC PAGE_TAGS WORD...: one TAP line; lists the missing words.
check_tags() {
	local desc=$1 f=$2 w missing=
	shift 2
	if [ $# -eq 0 ]; then
		not_ok "$desc"
		diag "no option names found: the extraction from the code is broken"
		return
	fi
	for w in "$@"; do
		has_tag "$w" "$f" || missing+=" $w"
	done
	if [ -z "$missing" ]; then
		ok "$desc ($# names)"
	else
		not_ok "$desc"
		diag "not documented as an option:$missing"
	fi
}

tags "$MAN_MOUNT" >"$T/mount.tags"
tags "$MAN_UMOUNT" >"$T/umount.tags"
roff_plain "$MAN_MOUNT" >"$T/mount.txt"
roff_plain "$MAN_UMOUNT" >"$T/umount.txt"

# --- 1. the pages render without warnings -----------------------------------
for page in "$MAN_MOUNT" "$MAN_UMOUNT"; do
	name=$(basename "$page")
	if command -v man >/dev/null; then
		err=$(LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z "$page" 2>&1 >/dev/null)
		rc=$?
		if [ $rc -eq 0 ] && [ -z "$err" ]; then
			ok "$name: man --warnings renders it silently"
		else
			not_ok "$name: man --warnings renders it silently"
			diag "exit $rc: $err"
		fi
	else
		skip "$name: man --warnings renders it silently" "man(1) is not installed"
	fi
	if command -v groff >/dev/null; then
		err=$(groff -man -ww -z -t "$page" 2>&1)
		rc=$?
		if [ $rc -eq 0 ] && [ -z "$err" ]; then
			ok "$name: groff -ww finds nothing to warn about"
		else
			not_ok "$name: groff -ww finds nothing to warn about"
			diag "exit $rc: $err"
		fi
	else
		skip "$name: groff -ww finds nothing to warn about" "groff is not installed"
	fi
	# The sections every page of ours has.
	missing=
	for sec in NAME SYNOPSIS DESCRIPTION OPTIONS EXAMPLES "EXIT STATUS" NOTES FILES "SEE ALSO"; do
		grep -q "^\.SH \"\?$sec\"\?\$" "$page" || missing+=" [$sec]"
	done
	if [ -z "$missing" ]; then ok "$name: has every section"; else not_ok "$name: has every section"; diag "missing:$missing"; fi
done

# --- 2. what the code accepts is documented ---------------------------------
# The helper's own options: the names parse_helper() compares tokens with.
mapfile -t helper_opts < <(awk '/^static int parse_helper\(/,/^}/' "$OPTIONS_C" |
	grep -oE 'str(n)?cmp\(token, "[a-z][a-z.-]*=?"' | sed -E 's/.*"([^"]*)"/\1/; s/=$//' | sort -u)
check_tags "mount.cfsoverlay.8 documents every helper option of src/options.c" \
	"$T/mount.tags" "${helper_opts[@]}"
# The extraction itself: it must find at least the options the design names.
missing=
for want in uidmap gidmap loop direct-io cfs.api cfs.tmpdir cfs.userns cfs.rmdir; do
	printf '%s\n' "${helper_opts[@]}" | grep -qxF -- "$want" || missing+=" $want"
done
if [ -z "$missing" ]; then
	ok "src/options.c parses the helper options of the design (${helper_opts[*]})"
else
	not_ok "src/options.c parses the helper options of the design"
	diag "not found in parse_helper():$missing"
fi

# The values parse_helper() accepts for cfs.api= and cfs.rmdir= (parse_bool).
mapfile -t api_values < <(awk '/^static int parse_helper\(/,/^}/' "$OPTIONS_C" |
	grep -oE 'strcmp\(v, "[a-z]+"' | sed -E 's/.*"([^"]*)"/\1/' | sort -u)
api_tag=$(grep -E '(^| )cfs\.api=' "$T/mount.tags" || true)
missing=
for v in "${api_values[@]}"; do
	[[ $api_tag =~ (^|[ {|])$v([ }|]|$) ]] || missing+=" $v"
done
if [ ${#api_values[@]} -ge 3 ] && [ -z "$missing" ]; then
	ok "mount.cfsoverlay.8 documents every cfs.api= value (${api_values[*]})"
else
	not_ok "mount.cfsoverlay.8 documents every cfs.api= value"
	diag "values in code: ${api_values[*]:-none found}; missing from the cfs.api= tag:$missing"
fi
mapfile -t bool_values < <(awk '/^static int parse_bool\(/,/^}/' "$OPTIONS_C" |
	grep -oE '"[a-z0-9]+"' | tr -d '"' | sort -u)
missing=
for v in "${bool_values[@]}"; do
	grep -Eq "(^|[ {|(,])$v([ }|),.;]|\$)" <(awk '/^\.BR cfs\.rmdir=/,/^\.(TP|SS|SH)/' "$T/mount.txt" | sed 's/^\.[A-Z]* //') ||
		missing+=" $v"
done
if [ ${#bool_values[@]} -ge 8 ] && [ -z "$missing" ]; then
	ok "mount.cfsoverlay.8 documents every cfs.rmdir= value (${bool_values[*]})"
else
	not_ok "mount.cfsoverlay.8 documents every cfs.rmdir= value"
	diag "values in code: ${bool_values[*]:-none found}; missing:$missing"
fi

# getopt_long(): the long names of the option table and the short letters of
# the option string, for each helper and its page.
for helper in mount umount; do
	src=$CFS_SRCDIR/helpers/$helper.cfsoverlay.c
	if [ ! -r "$src" ]; then
		not_ok "helpers/$helper.cfsoverlay.c is readable"
		continue
	fi
	mapfile -t longs < <(grep -oE '\{ "[a-z-]+", (no|required|optional)_argument' "$src" |
		sed -E 's/\{ "([^"]*)".*/--\1/')
	shortstr=$(grep -oE 'getopt_long\([^"]*"[^"]*"' "$src" | sed -E 's/.*"([^"]*)"/\1/')
	mapfile -t shorts < <(printf '%s' "${shortstr#:}" | tr -d ':' | grep -o . | sed 's/^/-/')
	check_tags "$helper.cfsoverlay.8 documents every getopt option of helpers/$helper.cfsoverlay.c" \
		"$T/$helper.tags" "${longs[@]}" "${shorts[@]}"
done

# libmount's Linux map: every flag and propagation name the parser takes from it.
if command -v cc >/dev/null && pkg-config --exists mount 2>/dev/null; then
	cat >"$T/map.c" <<-'EOF'
		#include <stdio.h>
		#include <libmount/libmount.h>
		int main(void)
		{
			const struct libmnt_optmap *m = mnt_get_builtin_optmap(MNT_LINUX_MAP);
			for (; m && m->name; m++)
				puts(m->name);
			return 0;
		}
	EOF
	# shellcheck disable=SC2046
	if cc -o "$T/map" "$T/map.c" $(pkg-config --cflags --libs mount) 2>"$T/cc.err"; then
		mapfile -t flags < <("$T/map" | sed 's/\[=\]$//; s/=$//')
		# Flags are listed in .TP tags, propagation types in the .BR line that
		# opens the Propagation subsection.
		awk '/^\.SS Propagation/ { p = 1; next } p && /^\.(PP|SS|SH)/ { exit } p' "$T/mount.txt" >"$T/prop.txt"
		missing=
		for fl in "${flags[@]}"; do
			has_tag "$fl" "$T/mount.tags" ||
				grep -Eq -- "^\.BR.*[ \"]$fl([ \"]|\$)" "$T/prop.txt" || missing+=" $fl"
		done
		if [ ${#flags[@]} -ge 30 ] && [ -z "$missing" ]; then
			ok "mount.cfsoverlay.8 documents every flag of libmount's Linux map (${#flags[@]} names)"
		else
			not_ok "mount.cfsoverlay.8 documents every flag of libmount's Linux map"
			diag "${#flags[@]} names; missing:$missing"
		fi
		# The bash completion offers the same names.
		missing=
		for fl in "${flags[@]}"; do
			grep -Eq "(^|[[:space:]'])$fl([[:space:]']|\$)" "$CFS_SRCDIR/contrib/bash-completion/mount.cfsoverlay" ||
				missing+=" $fl"
		done
		if [ ${#flags[@]} -ge 30 ] && [ -z "$missing" ]; then
			ok "bash completion offers every flag of libmount's Linux map (${#flags[@]} names)"
		else
			not_ok "bash completion offers every flag of libmount's Linux map"
			diag "${#flags[@]} names; missing:$missing"
		fi
	else
		not_ok "a program using libmount's option map compiles"
		diag "$(cat "$T/cc.err")"
	fi
else
	skip "mount.cfsoverlay.8 documents every flag of libmount's Linux map" "no cc or no libmount development files"
fi

# --- 3. --help of the built helpers matches the pages -----------------------
for helper in mount umount; do
	bin=$CFS_BUILDDIR/$helper.cfsoverlay
	if [ ! -x "$bin" ]; then
		skip "$helper.cfsoverlay --help: every option is in the page" "$bin is not built"
		continue
	fi
	help=$("$bin" --help 2>"$T/help.err")
	rc=$?
	if [ $rc -ne 0 ] || [ -s "$T/help.err" ] || [ -z "$help" ]; then
		not_ok "$helper.cfsoverlay --help prints on stdout and exits 0"
		diag "exit $rc: $(cat "$T/help.err")"
		continue
	fi
	ok "$helper.cfsoverlay --help prints on stdout and exits 0"
	# Lines of the form " -x, --long ..." or " -x ..." and, after
	# "Helper options", " name=..." or " name  text".
	mapfile -t words < <(printf '%s\n' "$help" | awk '
		/^Helper options/ { helper = 1; next }
		/^ -/ {
			for (i = 1; i <= 2; i++) { w = $i; sub(/,$/, "", w); if (w ~ /^--?[A-Za-z]/) print w }
			next
		}
		helper && /^ [a-z]/ {
			n = split($0, f, /[ ,]+/)
			for (i = 1; i <= n; i++) if (f[i] ~ /^[a-z][a-z.-]*(=|$)/ && (i <= 2 || f[i] ~ /=/)) { w = f[i]; sub(/=.*/, "", w); print w }
		}' | sort -u)
	check_tags "$helper.cfsoverlay --help: every option is in $helper.cfsoverlay.8" "$T/$helper.tags" "${words[@]}"
	if printf '%s\n' "$help" | grep -qF "$helper.cfsoverlay(8)"; then
		ok "$helper.cfsoverlay --help points to $helper.cfsoverlay(8)"
	else
		not_ok "$helper.cfsoverlay --help points to $helper.cfsoverlay(8)"
	fi
done

# --- 4. umount.cfsoverlay.8 --------------------------------------------------
check_tags "umount.cfsoverlay.8 documents -l -f -n -r -v -N" "$T/umount.tags" -l -f -n -r -v -N
if grep -q 'cfs\.rmdir=no' "$T/umount.txt" && grep -qi 'rmdir' "$T/umount.txt" &&
	grep -q '^\.SS .*other mount namespaces' "$MAN_UMOUNT"; then
	ok "umount.cfsoverlay.8 documents the rmdir cleanup and cfs.rmdir=no"
else
	not_ok "umount.cfsoverlay.8 documents the rmdir cleanup and cfs.rmdir=no"
fi

# --- exit codes: every value of enum cfs_exit is in the mount page ------------
mapfile -t codes < <(awk '/^enum cfs_exit \{/,/^\};/' "$ERRORS_H" | grep -oE '= [0-9]+' | tr -dc '0-9\n')
tags "$MAN_MOUNT" "EXIT STATUS" >"$T/mount.exit"
missing=
for c in "${codes[@]}"; do grep -qx "$c" "$T/mount.exit" || missing+=" $c"; done
if [ ${#codes[@]} -eq 8 ] && [ -z "$missing" ]; then
	ok "mount.cfsoverlay.8 EXIT STATUS lists ${codes[*]}"
else
	not_ok "mount.cfsoverlay.8 EXIT STATUS lists every code of src/errors.h"
	diag "codes in src/errors.h: ${codes[*]:-none}; missing:$missing"
fi
# umount lists the codes it can return and names the others as unused.
tags "$MAN_UMOUNT" "EXIT STATUS" >"$T/umount.exit"
missing=
for c in "${codes[@]}"; do
	grep -qx "$c" "$T/umount.exit" || awk '/^\.SH "?EXIT STATUS/,/^\.SH NOTES/' "$T/umount.txt" |
		sed 's/^\.[A-Z]* //' | tr '\n' ' ' | grep -Eq "Codes [^.]*\b$c\b[^.]* not used" || missing+=" $c"
done
if [ -z "$missing" ]; then
	ok "umount.cfsoverlay.8 EXIT STATUS accounts for every code"
else
	not_ok "umount.cfsoverlay.8 EXIT STATUS accounts for every code"
	diag "missing:$missing"
fi

# --- the contrib examples ----------------------------------------------------
fstab=$CFS_SRCDIR/contrib/fstab.example
if [ -r "$fstab" ]; then
	bad=
	n=0
	while IFS= read -r line; do
		set -f
		# shellcheck disable=SC2086
		set -- ${line#\#}
		set +f
		n=$((n + 1))
		[ $# -eq 6 ] && [ "$3" = cfsoverlay ] && [[ $4 == *lowerdir=* ]] && [[ ,$4, != *,loop,* ]] ||
			bad+=" [$line]"
	done < <(grep -E '^#?[^# ]+[[:space:]]+/[^[:space:]]*[[:space:]]+cfsoverlay[[:space:]]' "$fstab")
	if [ $n -ge 1 ] && [ -z "$bad" ]; then
		ok "contrib/fstab.example: $n lines of six fields, type cfsoverlay, no loop"
	else
		not_ok "contrib/fstab.example: lines of six fields, type cfsoverlay, no loop"
		diag "${n} lines;${bad}"
	fi
else
	not_ok "contrib/fstab.example exists"
fi
for f in contrib/runtime-exec.sh contrib/bash-completion/mount.cfsoverlay contrib/bash-completion/umount.cfsoverlay; do
	if [ -r "$CFS_SRCDIR/$f" ] && err=$(bash -n "$CFS_SRCDIR/$f" 2>&1); then
		ok "$f is valid bash"
	else
		not_ok "$f is valid bash"
		diag "${err:-missing}"
	fi
done
# The completion offers every helper option.
comp=$CFS_SRCDIR/contrib/bash-completion/mount.cfsoverlay
missing=
for w in "${helper_opts[@]}"; do grep -Eq "(^|[[:space:]'])$w(=|[[:space:]']|\$)" "$comp" || missing+=" $w"; done
if [ ${#helper_opts[@]} -gt 0 ] && [ -z "$missing" ]; then
	ok "bash completion offers every helper option"
else
	not_ok "bash completion offers every helper option"
	diag "missing:$missing"
fi
# The runtime example runs the helper directly with one -o per option.
rx=$CFS_SRCDIR/contrib/runtime-exec.sh
# shellcheck disable=SC2016
if [ "$(grep -cE '^[[:space:]]+-o "?[a-z]' "$rx")" -ge 5 ] && grep -q 'UMOUNT_HELPER" "\$rootfs"' "$rx" &&
	grep -q 'uidmap=' "$rx"; then
	ok "contrib/runtime-exec.sh: direct exec, one -o per option, idmapped, umount.cfsoverlay"
else
	not_ok "contrib/runtime-exec.sh: direct exec, one -o per option, idmapped, umount.cfsoverlay"
fi

done_testing
