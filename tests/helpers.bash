# SPDX-License-Identifier: GPL-2.0
#
# Assertions shared by the bats files. Each prints the output of the last
# "run" before failing, so a failed check shows what the command printed.

assert_status()
{
	if [ "$status" -ne "$1" ]; then
		echo "expected status $1, got $status; output:" >&2
		echo "$output" >&2
		return 1
	fi
}

assert_line_has()
{
	if [[ "$output" != *"$1"* ]]; then
		echo "output lacks '$1'; output:" >&2
		echo "$output" >&2
		return 1
	fi
}

refute_line_has()
{
	if [[ "$output" == *"$1"* ]]; then
		echo "output contains '$1'; output:" >&2
		echo "$output" >&2
		return 1
	fi
}

# Stop QEMU processes that a failed test left behind. They are found by the
# test's temporary directory, which is part of their command line.
kill_leftover_qemu()
{
	local pid

	for pid in $(pgrep -f -- "$BATS_TEST_TMPDIR" || true); do
		kill -KILL "$pid" 2>/dev/null || true
	done
}

# Run a boot like "run", and once more when the guest printed no TAP line at
# all. Debian's 6.1 cloud kernel stopped printing during early boot in about
# one boot of a hundred under QEMU TCG here (an estimate from the boots of
# this project's tests). run-qemu.sh rightly exits 125 then, but a test of
# something else must not fail on it.
run_boot()
{
	run "$@"
	if [ "$status" -eq 125 ] && [[ "$output" == *"before the first case"* ]]; then
		echo "# the guest printed nothing before the first case; booting once more" >&3
		run "$@"
	fi
}
