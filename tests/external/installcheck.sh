#!/bin/sh
# installcheck.sh — the installed plugin author's kit, used as a new author would: from the
# installed header, stor-plugin.pc, man page and example source alone, outside the tree, build a
# plugin with pkg-config, install it into the pc file's plugindir, pass the installed
# stor-plugin-check, and be found by the installed stor without --plugin-dir. Run by
# `make installcheck` (hence `make distcheck`):
#   installcheck.sh SRCDIR BINDIR PKGCONFIGDIR MANDIR  (DESTDIR from the environment)
set -eu
DESTDIR=${DESTDIR:-}
srcdir=$1 bindir=$DESTDIR$2 pkgconfigdir=$DESTDIR$3 mandir=$DESTDIR$4
fail() { echo "installcheck: $*" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/stor-installcheck.XXXXXX")
installed=
trap 'rm -rf "$work"; if test -n "$installed"; then rm -f "$installed"; fi' EXIT
export PKG_CONFIG_PATH="$pkgconfigdir"
cflags=$(${PKG_CONFIG:-pkg-config} --cflags stor-plugin | sed "s|-I/|-I$DESTDIR/|g")
plugindir=$DESTDIR$(${PKG_CONFIG:-pkg-config} --variable=plugindir stor-plugin)
examplesdir=$DESTDIR$(${PKG_CONFIG:-pkg-config} --variable=examplesdir stor-plugin)
cc=${CC:-cc}

# The read-only example of README: loads through --plugin-dir.
mkdir "$work/hello"
$cc -shared -fPIC -Wall -Werror $cflags -o "$work/hello/hello.so" "$srcdir/tests/external/hello.c"
"$bindir/stor" --plugin-dir="$work/hello" --backend=hello get any/thing - | grep -qx 'hello, world' ||
	fail "the hello plugin did not load"

# The kit: the man page, the example's source, the conformance program.
man -M "$mandir" -w 7 stor-plugin >/dev/null || fail "man does not find stor-plugin(7) in $mandir"
test -f "$examplesdir/memory.c" || fail "no example source in $examplesdir"
test -x "$bindir/stor-plugin-check" || fail "no stor-plugin-check in $bindir"

# The example, built as its own comment says, installed where the pc file says.
cp "$examplesdir/memory.c" "$work/"
(cd "$work" && $cc -shared -fPIC -Wall -Wextra -Werror $cflags -o memory.so memory.c -lpthread) ||
	fail "the installed example does not build with pkg-config --cflags stor-plugin"
test -d "$plugindir" || fail "plugindir $plugindir (from stor-plugin.pc) does not exist"
test ! -e "$plugindir/memory.so" || fail "$plugindir/memory.so exists already"
installed=$plugindir/memory.so
install -m 0644 "$work/memory.so" "$installed"
"$bindir/stor-plugin-check" "$installed" >"$work/check.out" 2>&1 ||
	{ sed 's/^/  /' "$work/check.out" >&2; fail "the installed example fails stor-plugin-check"; }

# Found without --plugin-dir. With DESTDIR the binary looks in the prefix it was built for, not
# in the staging tree, so only a real installation can show it.
if test -z "$DESTDIR"; then
	env STOR_PLUGIN_PATH= XDG_DATA_HOME="$work/none" HOME="$work" "$bindir/stor" backends |
		grep -q "^memory .*$installed" || fail "the installed stor does not find $installed"
	env STOR_PLUGIN_PATH= XDG_DATA_HOME="$work/none" HOME="$work" "$bindir/stor" --backend=memory --help |
		grep -q '^backend memory: ' || fail "stor --backend=memory --help"
fi
"$bindir/stor" backends | grep -q '^local ' || fail "stor backends does not list local"
echo "installcheck: hello and the installed example build with pkg-config stor-plugin; the example passes" \
	"stor-plugin-check from plugindir$(test -n "$DESTDIR" || echo ' and the installed stor finds it')"
