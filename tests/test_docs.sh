# tests/test_docs.sh — the man pages and the shell completions say what stor does: every command
# and every backend option is in stor(1), which renders without a warning, and bash completion
# offers the commands, the backends and each backend's -o keys; stor-plugin(7) describes every
# slot, capability and status of <stor/plugin.h> and renders without a warning. TAP.
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
for backend in local b2 s3; do
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

# stor-plugin(7), for plugin authors: it renders without a warning, and it names everything
# <stor/plugin.h> defines that a plugin fills in or returns, as read from the header itself: each
# member of struct stor_backend as a tagged paragraph of THE TABLE, in table order; each STOR_CAP_*
# constant as a tag of CAPABILITIES, with the name stor backends prints for it; each status of
# enum stor_status as a tag of CONTRACT.
header=$srcdir/core/stor/plugin.h
plugin_page=$srcdir/doc/stor-plugin.7
plugin_plain=$work/stor-plugin.7.txt
sed 's/\\-/-/g' "$plugin_page" >"$plugin_plain" 2>/dev/null

if command -v man >/dev/null 2>&1; then
	warnings=$(LC_ALL=C.UTF-8 MANROFFSEQ= MANWIDTH=80 man --warnings -l "$plugin_page" 2>&1 >/dev/null)
	[ -f "$plugin_page" ] && [ -z "$warnings" ] && ok "stor-plugin(7) renders without a warning" ||
		not_ok "stor-plugin(7) renders without a warning" "${warnings:-no $plugin_page}"
else
	not_ok "stor-plugin(7) renders without a warning" "man is not installed (Debian: man-db)"
fi

# The body of a C declaration block from the header (from the line "$1 {" to "};"), comments
# removed, one declaration per line: split at the characters $2 (';' for a struct, ',' for an enum).
declarations() {
	awk -v start="$1 {" '
		$0 == start { on = 1; next }
		on && /^};/ { exit }
		on {
			line = $0; code = ""
			while (line != "") {
				if (comment) {
					i = index(line, "*/")
					if (!i) break
					line = substr(line, i + 2); comment = 0
				} else {
					i = index(line, "/*")
					if (!i) { code = code line; break }
					code = code substr(line, 1, i - 1); line = substr(line, i + 2); comment = 1
				}
			}
			printf "%s ", code
		}' "$header" | tr "$2" '\n'
}
# The tag line of each .TP paragraph in section $1 of stor-plugin(7), hyphens plain.
tags() {
	awk -v section="$1" '
		/^\.SH / { name = $0; sub(/^\.SH +"?/, "", name); sub(/"$/, "", name); on = name == section; next }
		on && tag { print; tag = 0; next }
		on && /^\.TP/ { tag = 1 }' "$plugin_plain"
}

# Slots: a function pointer's name, else a field's (the last identifier of its declaration).
slots=$(declarations "struct stor_backend" ";" | sed -n '
	s/.*(\*[[:space:]]*\([A-Za-z_][A-Za-z0-9_]*\)[[:space:]]*)[[:space:]]*(.*/\1/p; t
	s/.*[^A-Za-z0-9_]\([A-Za-z_][A-Za-z0-9_]*\)[[:space:]]*$/\1/p')
table=$(tags "THE TABLE" | awk '/^\.B[IR]* / { print $2 }')
missing=
for slot in $slots; do
	echo "$table" | grep -qx "$slot" || missing="$missing $slot"
done
in_order=$(for tag in $table; do echo "$slots" | grep -qx "$tag" && echo "$tag"; done)
if [ "$(echo "$slots" | wc -l)" -lt 20 ]; then
	not_ok "stor-plugin(7) describes every slot of struct stor_backend, in table order" \
		"only $(echo "$slots" | wc -l) slots read from $header: $(echo $slots)"
elif [ -n "$missing" ]; then
	not_ok "stor-plugin(7) describes every slot of struct stor_backend, in table order" \
		"no tagged paragraph in THE TABLE for:$missing"
elif [ "$in_order" != "$slots" ]; then
	not_ok "stor-plugin(7) describes every slot of struct stor_backend, in table order" \
		"the page's order: $(echo $in_order)"
else
	ok "stor-plugin(7) describes every slot of struct stor_backend, in table order"
fi

# Capabilities, with the name core/loader.c gives each for stor backends (where it gives one).
capabilities=$(declarations "enum stor_capability" "," | sed -n 's/^[[:space:]]*\(STOR_CAP_[A-Z0-9_]*\)[[:space:]]*=.*/\1/p')
cap_tags=$(tags CAPABILITIES)
missing=
for cap in $capabilities; do
	name=$(sed -n "s/.*{$cap, \"\([a-z0-9-]*\)\"}.*/\1/p" "$srcdir/core/loader.c" | head -n 1)
	echo "$cap_tags" | grep -q "^\.B[IR]* $cap\b.*[( ]$name\b" || missing="$missing $cap${name:+ ($name)}"
done
[ "$(echo "$capabilities" | wc -w)" -ge 10 ] && [ -z "$missing" ] &&
	ok "stor-plugin(7) names every STOR_CAP_* constant, with the name stor backends prints" ||
	not_ok "stor-plugin(7) names every STOR_CAP_* constant, with the name stor backends prints" \
		"constants in the header: $(echo $capabilities); no tag in CAPABILITIES for:$missing"

statuses=$(declarations "enum stor_status" "," | sed -n 's/^[[:space:]]*\(STOR_[A-Z0-9_]*\).*/\1/p')
contract_tags=$(tags CONTRACT)
missing=
for status in $statuses; do
	echo "$contract_tags" | grep -qx "\.B $status" || missing="$missing $status"
done
[ "$(echo "$statuses" | wc -w)" -ge 5 ] && [ -z "$missing" ] &&
	ok "stor-plugin(7) describes every status of enum stor_status" ||
	not_ok "stor-plugin(7) describes every status of enum stor_status" \
		"statuses in the header: $(echo $statuses); no tag in CONTRACT for:$missing"

echo "1..$count"
[ "$failed" -eq 0 ]
