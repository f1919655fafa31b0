#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Measure the reproducer in one run and print the figures:
#   - image build time, cold (no package cache) and warm (cache kept)
#   - rebuild time after editing one C file
#   - image size, uncompressed and as zstd would compress it
#   - time from starting run-qemu.sh to its verdict, and to the first TAP line
#   - matrix time in the guest and seconds per case
#
# Usage: bench/bench.sh [--no-cold] [--runs N] [-- RUN_QEMU_ARGS...]
#   --no-cold  skip the cold build (it downloads the Debian packages again)
#   --runs N   boot N times and print each boot's figures (default 3)
#
# Run it as root from a built tree (make all), because it rebuilds the image
# with mkosi.
set -euo pipefail

cd "$(dirname "$0")/.."

COLD=1
RUNS=3
RUN_ARGS=()

die() {
	echo "bench: $*" >&2
	exit 1
}

parse_args() {
	while [ $# -gt 0 ]; do
		case "$1" in
		--no-cold) COLD=0 ;;
		--runs)
			[[ "${2:-}" =~ ^[1-9][0-9]*$ ]] || die "--runs needs a positive number, not '${2:-}'"
			RUNS=$2
			shift
			;;
		--) shift; RUN_ARGS=("$@"); break ;;
		*) die "unknown option '$1'; see the header of $0" ;;
		esac
		shift
	done
}

# Print the wall seconds that the command takes.
seconds_of() {
	local start end

	start=$(date +%s.%N)
	"$@" >/dev/null 2>&1 || die "command failed: $*"
	end=$(date +%s.%N)
	echo "$end - $start" | bc
}

bench_builds() {
	local seconds

	if [ "$COLD" = 1 ]; then
		rm -rf build/mkosi/peeloff-base.cpio build/mkosi/debian~bookworm/peeloff-base.cpio \
			mkosi.cache/*
		seconds=$(seconds_of make image)
		printf 'image build, cold (no package cache):  %6.1f s\n' "$seconds"
	fi
	rm -f build/mkosi/peeloff-base.cpio
	seconds=$(seconds_of make image)
	printf 'image build, warm (package cache):     %6.1f s\n' "$seconds"

	touch src/sctp_peeloff_client.c
	seconds=$(seconds_of make image)
	printf 'rebuild after editing one C file:      %6.1f s\n' "$seconds"
}

bench_size() {
	local raw compressed

	raw=$(stat -c %s build/initramfs.cpio)
	compressed=$(zstd -q -c build/initramfs.cpio | wc -c)
	printf 'image size, uncompressed:              %6.1f MB\n' "$(echo "$raw / 1000000" | bc -l)"
	printf 'image size, zstd -3:                   %6.1f MB\n' \
		"$(echo "$compressed / 1000000" | bc -l)"
}

# Boot once; print wall time to the verdict and to the first TAP line, and
# the guest's own matrix timing.
bench_boot() {
	local out start first_tap=0 end status cases guest done_at started_at

	out=$(mktemp -d)
	start=$(date +%s.%N)
	set +e
	./run-qemu.sh --output-dir "$out/run" "${RUN_ARGS[@]}" 2>&1 |
		while IFS= read -r line; do
			printf '%s %s\n' "$(date +%s.%N)" "$line"
		done >"$out/stdout"
	status=${PIPESTATUS[0]}
	set -e
	end=$(date +%s.%N)
	first_tap=$(awk '$2 == "TAP" && $3 == "version" { print $1; exit }' "$out/stdout")
	cases=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$out/run/results.tap")
	guest=$(sed -n 's/^# peeloff-repro: done at \([0-9.]*\) s, matrix started at \([0-9.]*\) s$/\1 \2/p' \
		"$out/run/results.tap")
	[ -n "$guest" ] || die "boot $1: no timing line in $out/run/results.tap (exit $status)"
	read -r done_at started_at <<<"$guest"
	printf 'boot: exit %s, verdict after %5.1f s, first TAP line after %4.1f s,' \
		"$status" "$(echo "$end - $start" | bc)" "$(echo "${first_tap:-$end} - $start" | bc)"
	printf ' matrix %4.1f s for %s cases (%.2f s per case)\n' \
		"$(echo "$done_at - $started_at" | bc)" "$cases" \
		"$(echo "($done_at - $started_at) / $cases" | bc -l)"
	rm -rf "$out"
}

main() {
	local run

	parse_args "$@"
	[ "$(id -u)" = 0 ] || die "run as root: mkosi needs it to rebuild the image"
	command -v bc >/dev/null || die "bc is missing: apt-get install bc"
	command -v zstd >/dev/null || die "zstd is missing: apt-get install zstd"
	echo "machine: $(nproc) CPUs, $(uname -r), $(qemu-system-x86_64 --version | head -n 1)"
	bench_builds
	bench_size
	for run in $(seq "$RUNS"); do
		bench_boot "$run"
	done
}

main "$@"
