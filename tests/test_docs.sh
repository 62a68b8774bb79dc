# tests/test_docs.sh — the man page and the shell completions say what stor does: every command
# and every backend option is in stor(1), which renders without a warning, and bash completion
# offers the commands, the backends and each backend's -o keys. TAP.
builddir=${STOR_TEST_BUILDDIR:-.}
srcdir=${STOR_TEST_SRCDIR:-.}
stor=$builddir/stor
page=$srcdir/doc/stor.1
count=0
failed=0
ok() { count=$((count + 1)); echo "ok $count - $1"; }
not_ok() { count=$((count + 1)); failed=$((failed + 1)); echo "not ok $count - $1"; echo "# $2"; }
work=$(mktemp -d "${TMPDIR:-/tmp}/stor-docs.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
export HOME=$work STOR_PLUGIN_PATH= XDG_DATA_HOME=

plain=$work/stor.1.txt # the page's source with roff's escaped hyphens made plain
sed 's/\\-/-/g' "$page" >"$plain"

# Commands: the first column of "commands:" in stor --help.
commands=$("$stor" --help | awk '/^commands:/ { on = 1; next } on && /^$/ { exit } on { print $1 }')
missing=
for c in $commands; do
	grep -q "^\.B[IR]* \"*$c\b" "$plain" || missing="$missing $c"
done
[ -n "$commands" ] && [ -z "$missing" ] && ok "stor(1) describes every command" ||
	not_ok "stor(1) describes every command" "missing:$missing"

# Backend options: the keys of each backend's --help; the page names them (hyphens escaped).
missing=
for backend in local b2; do
	keys=$(B2_APPLICATION_KEY_ID=x B2_APPLICATION_KEY=x "$stor" --backend=$backend --help |
		awk '/^options/ { on = 1; next } on && /^$/ { exit } on && /^  [A-Za-z_.]+ / { print $1 }')
	[ -n "$keys" ] || missing="$missing ($backend has no options?)"
	for key in $keys; do
		grep -q "$(echo "$key" | sed 's/\./\\./; s/NAME/\\\\fINAME/')" "$page" || missing="$missing $backend:$key"
	done
done
[ -z "$missing" ] && ok "stor(1) names every backend option" ||
	not_ok "stor(1) names every backend option" "missing:$missing"

# Exit codes: each one of stor --help's list is in EXIT STATUS.
missing=
for code in 0 1 2 3 4 5 6 7 130; do
	grep -q "^\.B $code\$" "$page" || missing="$missing $code"
done
[ -z "$missing" ] && ok "stor(1) lists every exit code" || not_ok "stor(1) lists every exit code" "missing:$missing"

if command -v man >/dev/null 2>&1; then
	warnings=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null)
	[ -z "$warnings" ] && ok "stor(1) renders without a warning" ||
		not_ok "stor(1) renders without a warning" "$warnings"
else
	not_ok "stor(1) renders without a warning" "man is not installed (Debian: man-db)"
fi

# Bash completion, driven as bash would: COMP_WORDS in, COMPREPLY out.
complete_words() {
	bash -c '
		complete() { :; }; compopt() { :; }
		. "$1"; shift
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _stor
		printf "%s\n" "${COMPREPLY[@]}"' complete "$srcdir/completions/bash/stor" "$@"
}
got=$(complete_words "$stor" "" | sort | tr '\n' ' ')
[ "$got" = "$(echo $commands | tr ' ' '\n' | sort | tr '\n' ' ')" ] && ok "bash completes the commands" ||
	not_ok "bash completes the commands" "got: $got"
got=$(complete_words "$stor" --backend "" | tr '\n' ' ')
case $got in *b2*local* | *local*b2*) ok "bash completes the backends" ;;
*) not_ok "bash completes the backends" "got: $got" ;; esac
got=$(B2_APPLICATION_KEY_ID=x B2_APPLICATION_KEY=x complete_words "$stor" --backend=b2 -o "part" | tr '\n' ' ')
[ "$got" = "part_size= " ] && ok "bash completes a backend's -o keys" ||
	not_ok "bash completes a backend's -o keys" "got: $got"
got=$(complete_words "$stor" get --ver | tr '\n' ' ')
[ "$got" = "--version= " ] && ok "bash completes a command's options" ||
	not_ok "bash completes a command's options" "got: $got"

if command -v zsh >/dev/null 2>&1 && zsh -n "$srcdir/completions/zsh/_stor" 2>"$work/zsh.err"; then
	ok "the zsh completion parses"
else
	not_ok "the zsh completion parses" "$(cat "$work/zsh.err" 2>/dev/null || echo 'zsh is not installed (Debian: zsh)')"
fi

echo "1..$count"
[ "$failed" -eq 0 ]
