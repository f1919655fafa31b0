#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Boot a kernel many times with run-qemu.sh and measure how often its verdict changes. The
# kernel is the default one unless RUN_QEMU_ARGS name another. The script prints the count
# of each exit status and the flake rate, which is the share of boots that did not end with
# the expected status. Then it lists the cases that failed, with the diagnostics of their
# first failure, and the slowest boots.
#
# Usage: bench/flake.sh [--boots N] [--expect STATUS] [--output-dir DIR] [-- RUN_QEMU_ARGS...]
#   --boots N        boots to run (default 50)
#   --expect STATUS  exit status of a boot that is not a flake (default 0, a good kernel)
#   --output-dir DIR where each boot's logs go, as DIR/boot-<i>/ (default
#                    results/flake-<date>-<time>)
# A boot takes 10-20 s under TCG and keeps both cores of a 2-core machine busy, so 50 boots
# take 10-15 minutes. A kernel build running at the same time makes the boots slower.
# Exit status: 0 no flakes, 1 at least one flake, 2 invalid usage or run-qemu.sh failed,
# 130 interrupted.

set -euo pipefail

cd "$(dirname "$0")/.."

BOOTS=50
EXPECT=0
OUTPUT_DIR=""
RUN_ARGS=()
SLOWEST=5
MAX_DIAG=8

die()
{
	echo "flake: $*" >&2
	exit 2
}

parse_args()
{
	while [ $# -gt 0 ]; do
		case "$1" in
		--boots)
			[[ "${2:-}" =~ ^[1-9][0-9]{0,3}$ ]] ||
				die "invalid --boots '${2:-}': use a whole number from 1 to 9999"
			BOOTS=$2
			shift
			;;
		--expect)
			[[ "${2:-}" =~ ^(0|1|125)$ ]] || die "invalid --expect '${2:-}': use 0, 1 or 125"
			EXPECT=$2
			shift
			;;
		--output-dir)
			[ -n "${2:-}" ] || die "--output-dir needs a directory"
			OUTPUT_DIR=$2
			shift
			;;
		--)
			shift
			RUN_ARGS=("$@")
			break
			;;
		*) die "unknown option '$1'; see the header of $0" ;;
		esac
		shift
	done
	[ -n "$OUTPUT_DIR" ] || OUTPUT_DIR=results/flake-$(date +%Y%m%d-%H%M%S)
}

warn_if_busy()
{
	if pgrep -f 'make.*bzImage' >/dev/null; then
		echo "flake: a kernel build is running: the boot times will be longer than usual" >&2
	fi
}

# Boot once into $OUTPUT_DIR/boot-$1 and append "i status seconds" to $OUTPUT_DIR/boots.
# Exit when run-qemu.sh was interrupted or failed as a tool.
boot_once()
{
	local dir=$OUTPUT_DIR/boot-$1 status=0 seconds

	./run-qemu.sh --output-dir "$dir" "${RUN_ARGS[@]}" >"$dir.log" 2>&1 || status=$?
	case "$status" in
	0 | 1 | 125) ;;
	130)
		echo "flake: boot $1 was interrupted (see $dir.log)" >&2
		exit 130
		;;
	*)
		echo "flake: run-qemu.sh failed with status $status in boot $1: $(tail -n 1 "$dir.log")" >&2
		exit 2
		;;
	esac
	seconds=$(sed -n 's/^seconds=//p' "$dir/verdict")
	echo "$1 $status $seconds" >>"$OUTPUT_DIR/boots"
	printf 'boot %d of %d: status %d in %s s: %s\n' "$1" "$BOOTS" "$status" "$seconds" \
		"$(sed -n 's/^reason=//p' "$dir/verdict")"
}

# Print the guest's matrix time of boot $1 in seconds, or "-" when it did not finish.
matrix_seconds()
{
	sed -n 's/^# peeloff-repro: done at \([0-9.]*\) s, matrix started at \([0-9.]*\) s$/\1 \2/p' \
		"$OUTPUT_DIR/boot-$1/results.tap" | awk '{ printf "%.1f", $1 - $2; found = 1 }
		END { if (!found) printf "-" }'
}

print_statuses()
{
	local flakes

	echo "---- verdicts ($BOOTS boots) ----"
	awk '{ n[$2]++ } END { for (s in n) printf "status %s: %d boots\n", s, n[s] }' \
		"$OUTPUT_DIR/boots" | sort
	flakes=$(awk -v expect="$EXPECT" '$2 != expect' "$OUTPUT_DIR/boots" | wc -l)
	printf 'flake rate: %d of %d boots (%.1f %%) did not end with status %d\n' "$flakes" \
		"$BOOTS" "$(echo "$flakes * 100 / $BOOTS" | bc -l)" "$EXPECT"
	FLAKES=$flakes
	echo "---- verdict reasons ----"
	sed -n 's/^reason=//p' "$OUTPUT_DIR"/boot-*/verdict | sort | uniq -c | sort -rn
}

# Print each case that failed or was cut short in any boot, how often, and the result line
# and diagnostics of its first failure.
print_cases()
{
	local name count first

	echo "---- cases that failed or did not finish ----"
	for first in "$OUTPUT_DIR"/boot-*/summary; do
		sed -n -e 's/^failed: \(not \)\{0,1\}ok [0-9]* \([^ ]*\).*/\2/p' \
			-e 's/^interrupted: [0-9]* \([^ ]*\) .*/\1/p' "$first"
	done | sort | uniq -c | sort -rn >"$OUTPUT_DIR/cases"
	if [ ! -s "$OUTPUT_DIR/cases" ]; then
		echo "none"
		return
	fi
	while read -r count name; do
		first=$(grep -l -F " $name " "$OUTPUT_DIR"/boot-*/summary | sort -V | head -n 1)
		first=$(dirname "$first")
		echo "$name: $count of $BOOTS boots; first in $first"
		print_failure "$name" "$first"
	done <"$OUTPUT_DIR/cases"
}

# Print the result line of case $1 in boot directory $2 with its diagnostics, or the boot's
# verdict when the case has no result line.
print_failure()
{
	local shown

	shown=$(awk -v name="$1" -v max="$MAX_DIAG" '
		/^(not )?ok / { show = ($1 == "not" && $4 == name); n = 0 }
		show && /^not ok / { print "\t" $0; next }
		show && /^# / && !/^# (start|end) / && n < max { print "\t" $0; n++ }' \
		"$2/results.tap")
	if [ -n "$shown" ]; then
		echo "$shown"
	else
		echo "	no result line; verdict: $(sed -n 's/^reason=//p' "$2/verdict")"
	fi
}

print_slowest()
{
	local boot status seconds

	echo "---- slowest boots (wall seconds, matrix seconds in the guest) ----"
	sort -k3 -g -r "$OUTPUT_DIR/boots" | head -n "$SLOWEST" |
		while read -r boot status seconds; do
			printf 'boot %d: %s s, matrix %s s, status %d\n' "$boot" "$seconds" \
				"$(matrix_seconds "$boot")" "$status"
		done
	awk '{ sum += $3; if ($3 > max) max = $3 }
		END { printf "mean %.1f s, max %.1f s per boot\n", sum / NR, max }' "$OUTPUT_DIR/boots"
}

main()
{
	local i

	parse_args "$@"
	command -v bc >/dev/null || die "bc is missing: apt-get install bc"
	mkdir -p "$OUTPUT_DIR"
	: >"$OUTPUT_DIR/boots"
	warn_if_busy
	echo "flake: $BOOTS boots into $OUTPUT_DIR, run-qemu.sh ${RUN_ARGS[*]}"
	for ((i = 1; i <= BOOTS; i++)); do
		boot_once "$i"
	done
	print_statuses
	print_cases
	print_slowest
	[ "$FLAKES" -eq 0 ]
}

main "$@"
