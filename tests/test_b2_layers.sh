#!/bin/sh
# tests/test_b2_layers.sh — the B2 plugin's rooms only call down: tests/plugin_layers.sh checks the
# layer table of plugins/b2/README.md against the built objects and the includes.
exec sh "${STOR_TEST_SRCDIR:-.}/tests/plugin_layers.sh" b2
