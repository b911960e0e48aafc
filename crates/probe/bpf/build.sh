#!/bin/sh
# Builds the driver's CO-RE object: `cargo xtask bpf` writes bpf/osprey.bpf.o with
# it, and tests/driver_object.rs rebuilds into a temp file to check the committed
# object. Run from this directory: the relative source path is recorded in the
# object's BTF line info, so it must be the same for every build.
set -eu
out=${1:-osprey.bpf.o}
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
clang -O2 -g -target bpf -D__TARGET_ARCH_x86 -I. -c osprey.bpf.c -o "$tmp"
llvm-strip -g "$tmp" -o "$out"
