#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# One step of "git bisect run": build the kernel tree in the current
# directory with the reproducer's config fragment, boot it with
# run-qemu.sh, and exit with the status git bisect expects.
#
#   cd ~/linux
#   git bisect start BAD GOOD
#   git bisect run /path/to/sctp-peeloff-repro/kernels/bisect-step.sh
#
# Exit status: 0 good, 1 bad, 125 this commit cannot be built or tested,
# 255 the setup is broken (git bisect stops, no commit is marked).
# Options after "--" go to run-qemu.sh (e.g. -- --runs 3).
set -uo pipefail

REPRO=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${PEELOFF_BUILD_DIR:-}
OUTPUT_DIR=

usage() {
	cat <<EOF
Usage: $(basename "$0") [--build-dir DIR] [-- RUN_QEMU_OPTION...]

Build the kernel tree in the current directory with kernels/build-kernel.sh
and run run-qemu.sh on the result, for "git bisect run".

  --build-dir DIR  make O= directory, kept between steps so that each step
                   builds incrementally (default: \$PEELOFF_BUILD_DIR, or
                   .peeloff-build in the kernel tree)
  -h, --help       show this help

Exit status: 0 good, 1 bad, 125 skip (the commit does not build, lacks a
required option, or cannot be tested), 255 the setup is broken: git bisect
run stops instead of marking a commit.
EOF
}

die() {
	echo "bisect-step: $*" >&2
	exit 255
}

parse_args() {
	while [ $# -gt 0 ]; do
		case "$1" in
		--build-dir)
			[ -n "${2:-}" ] || die "--build-dir needs a directory argument"
			BUILD_DIR=$2
			shift
			;;
		-h | --help) usage; exit 0 ;;
		--) shift; RUN_ARGS=("$@"); return ;;
		*) die "unknown option '$1'; see --help" ;;
		esac
		shift
	done
}

# Build the tree; map "this commit gives no kernel" to 125.
build() {
	local status

	"$REPRO/kernels/build-kernel.sh" --build-dir "$BUILD_DIR" --output "$OUTPUT_DIR" "$TREE"
	status=$?
	case "$status" in
	0)
		echo "bisect-step: kernel built in $SECONDS s"
		return 0
		;;
	3)
		echo "bisect-step: $(git -C "$TREE" rev-parse --short HEAD) gives no kernel: skip (125)"
		exit 125
		;;
	*) die "build-kernel.sh failed with status $status: fix the setup" ;;
	esac
}

# Boot the kernel; pass 0, 1 and 125 through, stop the bisect otherwise.
boot() {
	local status

	"$REPRO/run-qemu.sh" --kernel "$OUTPUT_DIR/bzImage" "${RUN_ARGS[@]}"
	status=$?
	echo "bisect-step: step took $SECONDS s"
	case "$status" in
	0 | 1 | 125) exit "$status" ;;
	*) die "run-qemu.sh failed with status $status: fix the setup" ;;
	esac
}

main() {
	RUN_ARGS=()
	parse_args "$@"
	TREE=$(git rev-parse --show-toplevel 2>/dev/null) ||
		die "run this from a kernel git tree (as git bisect run does)"
	BUILD_DIR=${BUILD_DIR:-$TREE/.peeloff-build}
	OUTPUT_DIR=$BUILD_DIR/peeloff-out
	echo "bisect-step: commit $(git -C "$TREE" rev-parse --short HEAD), build dir $BUILD_DIR"
	build
	boot
}

main "$@"
