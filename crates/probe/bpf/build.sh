#!/bin/sh
# Builds the driver's CO-RE object: `cargo xtask bpf` writes bpf/osprey.bpf.o with
# it, and tests/driver_object.rs rebuilds into a temp file to check the committed
# object. Run from this directory: source paths are recorded in the object's
# debug and BTF line info, so they are kept relative (the source is named
# relatively and the build directory is mapped to `.`), and the object is the
# same byte for byte wherever the repository lives.
set -eu
out=${1:-osprey.bpf.o}
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
clang -O2 -g -fdebug-prefix-map="$(pwd)"=. -target bpf -D__TARGET_ARCH_x86 -I. -c osprey.bpf.c -o "$tmp"
llvm-strip -g "$tmp" -o "$out"
