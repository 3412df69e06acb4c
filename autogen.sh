#!/bin/sh
# Generates configure and Makefile.in; these are never committed.
set -e
cd "$(dirname "$0")"
autoreconf --force --install --warnings=all
