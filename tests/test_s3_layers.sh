#!/bin/sh
# tests/test_s3_layers.sh — the S3 plugin's rooms only call down: tests/plugin_layers.sh checks the
# layer table of plugins/s3/README.md against the built objects and the includes.
exec sh "${STOR_TEST_SRCDIR:-.}/tests/plugin_layers.sh" s3
