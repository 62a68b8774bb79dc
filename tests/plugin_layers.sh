#!/bin/sh
# tests/plugin_layers.sh PLUGIN — a plugin's rooms only call down (run by test_b2_layers.sh and
# test_s3_layers.sh). The order is the layer table of plugins/PLUGIN/README.md ("## Layers":
# layer number, then the rooms' .c files); each room's object comes from the build, and nm tells
# which of its undefined symbols another room defines: that room must sit on a lower layer (a
# larger number). Rooms of one layer do not call each other. Likewise a room's .c and .h include
# only its own header and those of rooms below it (X.h is the room X.c's; a header of no one
# room, as instance.h, is not checked), never PLUGIN.h (every header at once, for tests). Every
# plugins/PLUGIN/*.c is a room of the table, once. Below the plugin's last layer come the layers
# of plugins/common/README.md, the bottom both plugins share (its rooms, checked the same way,
# know no plugin: a call or an include up into one fails). TAP: one line per room.
plugin=${1:?usage: plugin_layers.sh PLUGIN}
builddir=${STOR_TEST_BUILDDIR:-.}
srcdir=${STOR_TEST_SRCDIR:-.}
readme=$srcdir/plugins/$plugin/README.md
common=common
count=0
failed=0
ok() { count=$((count + 1)); echo "ok $count - $1"; }
not_ok() {
	count=$((count + 1)); failed=$((failed + 1))
	echo "not ok $count - $1"
	test -z "$2" || echo "# $2"
}
work=$(mktemp -d "${TMPDIR:-/tmp}/stor-layers.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT

command -v nm >/dev/null 2>&1 || { echo "Bail out! nm not found (Debian: binutils)"; exit 1; }
test -f "$readme" || { echo "Bail out! no $readme"; exit 1; }

# "LAYER ROOM DIR" for each `room.c` in the rooms column of a numbered row of DIR's table, the
# layer numbers shifted down by OFFSET.
read_table() {
	awk -v dir="$1" -v offset="$2" '
	/^## / { on = ($0 == "## Layers"); next }
	on && /^\|/ {
		split($0, cell, "|")
		layer = cell[2]; gsub(/[ \t]/, "", layer)
		if (layer !~ /^[0-9]+$/) next
		rooms = cell[3]
		while (match(rooms, /`[A-Za-z0-9_]+\.c`/)) {
			print layer + offset, substr(rooms, RSTART + 1, RLENGTH - 4), dir
			rooms = substr(rooms, RSTART + RLENGTH)
		}
	}' "$srcdir/plugins/$1/README.md"
}
read_table "$plugin" 0 >"$work/layers"
test -f "$srcdir/plugins/$common/README.md" || { echo "Bail out! no plugins/$common/README.md"; exit 1; }
bottom=$(awk 'BEGIN { max = 0 } $1 + 0 > max { max = $1 + 0 } END { print max }' "$work/layers")
read_table "$common" "$bottom" >>"$work/layers"

if awk -v dir="$common" '$3 == dir { found = 1 } END { exit !found }' "$work/layers"
then ok "plugins/$common/README.md has a layer table"
else not_ok "plugins/$common/README.md has a layer table" \
	"no numbered rows of \`room.c\` under \"## Layers\""; fi
if awk -v dir="$plugin" '$3 == dir { found = 1 } END { exit !found }' "$work/layers"
then ok "plugins/$plugin/README.md has a layer table"
else not_ok "plugins/$plugin/README.md has a layer table" \
	"no numbered rows of \`room.c\` under \"## Layers\""; fi

twice=$(awk '{ print $2 }' "$work/layers" | sort | uniq -d | tr '\n' ' ')
missing=
for source in "$srcdir"/plugins/$plugin/*.c "$srcdir"/plugins/$common/*.c; do
	room=$(basename "$source" .c)
	dir=$(basename "$(dirname "$source")")
	awk -v room="$room" -v dir="$dir" '$2 == room && $3 == dir { found = 1 } END { exit !found }' \
		"$work/layers" || missing="$missing $dir/$room.c"
done
stray=
while read -r layer room dir; do
	test -f "$srcdir/plugins/$dir/$room.c" || stray="$stray $dir/$room.c"
done <"$work/layers"
if test -z "$twice$missing$stray"; then
	ok "every plugins/$plugin/*.c and plugins/$common/*.c is on exactly one layer"
else
	not_ok "every plugins/$plugin/*.c and plugins/$common/*.c is on exactly one layer"
	test -z "$missing" || echo "# on no layer:$missing"
	test -z "$twice" || echo "# on two layers: $twice"
	test -z "$stray" || echo "# listed, but no such file:$stray"
fi

# The object libtool built for room $1 of plugins/$2: the shared one, or the static one
# (--disable-shared); plugins/common's are those of its convenience library.
object_of() {
	if test "$2" = "$common"; then library=libstor_plugin_common; else library=$2; fi
	for candidate in "$builddir/plugins/$2/.libs/${library}_la-$1.o" \
		"$builddir/plugins/$2/${library}_la-$1.o"; do
		test -f "$candidate" && { echo "$candidate"; return 0; }
	done
	return 1
}

# "SYMBOL ROOM LAYER" for every global symbol a room defines.
cp "$work/layers" "$work/order" # looked up while the table is read
: >"$work/defined"
absent=
while read -r layer room dir; do
	object=$(object_of "$room" "$dir") || { absent="$absent $dir/$room.c"; continue; }
	nm -P -g "$object" | awk -v room="$room" -v layer="$layer" \
		'$2 != "U" && $2 != "w" && $2 != "v" { print $1, room, layer }' >>"$work/defined"
done <"$work/layers"
if test -z "$absent"; then ok "the build has an object of every room"
else not_ok "the build has an object of every room" "not built (run make first):$absent"; fi

while read -r layer room dir; do
	object=$(object_of "$room" "$dir") || continue
	nm -P -g "$object" | awk -v room="$room" -v layer="$layer" '
		FNR == NR { room_of[$1] = $2; layer_of[$1] = $3; next }
		($2 == "U" || $2 == "w") && ($1 in room_of) && layer_of[$1] + 0 <= layer + 0 {
			print room ".c (layer " layer ") calls " $1 " of " room_of[$1] ".c (layer " \
				layer_of[$1] (layer_of[$1] == layer ? ", the same" : ", above it") ")"
		}' "$work/defined" - >"$work/up"
	for file in "$srcdir/plugins/$dir/$room.c" "$srcdir/plugins/$dir/$room.h"; do
		test -f "$file" || continue
		sed -n 's/^#include "\([A-Za-z0-9_]*\)\.h".*/\1/p' "$file" | while read -r header; do
			if test "$header" = "$plugin"; then
				echo "${file##*/} includes $plugin.h, every room's header"
			elif test "$header" != "$room"; then
				below=$(awk -v room="$header" '$2 == room { print $1 }' "$work/order")
				test -n "$below" && test "$below" -le "$layer" &&
					echo "${file##*/} (layer $layer) includes $header.h of $header.c (layer $below)"
			fi
		done
	done >>"$work/up"
	if test -s "$work/up"; then
		not_ok "$dir/$room.c (layer $layer) calls and includes only rooms below it"
		sed 's/^/# /' "$work/up"
	else
		ok "$dir/$room.c (layer $layer) calls and includes only rooms below it"
	fi
done <"$work/layers"

echo "1..$count"
test "$failed" -eq 0
