#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
#
# Self-test on real kernels built from Debian's linux-source-6.1 with
# kernels/peeloff.config: the unpatched (known-good) kernel must pass every
# case, and the kernel with the client peeloff fix reverted (known-bad,
# kernels/0001-*.patch) must fail exactly the client peeloff cases, each with
# the denial on the unlabeled socket in its diagnostics. make check-kernels
# sets KERNEL_GOOD and KERNEL_BAD.

load helpers

setup_file() {
	cd "$BATS_TEST_DIRNAME/.."
	[ -f "${KERNEL_GOOD:-}" ] || skip "KERNEL_GOOD is not a file: run make check-kernels"
	[ -f "${KERNEL_BAD:-}" ] || skip "KERNEL_BAD is not a file: run make check-kernels"
	local kind kernel

	for kind in good bad; do
		kernel=KERNEL_${kind^^}
		run_boot ./run-qemu.sh --kernel "${!kernel}" --output-dir "$BATS_FILE_TMPDIR/$kind"
		echo "$output" >"$BATS_FILE_TMPDIR/$kind.stdout"
		echo "$status" >"$BATS_FILE_TMPDIR/$kind.status"
	done
}

setup() {
	cd "$BATS_TEST_DIRNAME/.."
	GOOD=$BATS_FILE_TMPDIR/good/results.tap
	BAD=$BATS_FILE_TMPDIR/bad/results.tap
}

# Print the result lines of the cases of one kind: client-peeloff,
# server-peeloff or control.
results_of_kind() {
	grep -E "^(not )?ok [0-9]+ [a-z0-9-]+/$1/" "$2"
}

# Print the diagnostics block that follows the result line of case $1.
diagnostics_of() {
	awk -v name="$1" '
	$0 ~ /^(not )?ok [0-9]+ / { inside = ($3 == name || $4 == name) ; next }
	inside && /^# / && !/^# (start|end) / { print }' "$2"
}

@test "good kernel passes every case" {
	cat "$BATS_FILE_TMPDIR/good.stdout"
	[ "$(cat "$BATS_FILE_TMPDIR/good.status")" -eq 0 ]
	[ "$(grep -c '^not ok ' "$GOOD")" -eq 0 ]
	grep -q '^# Totals: pass:96 fail:0 ' "$GOOD"
}

@test "bad kernel gives verdict bad" {
	cat "$BATS_FILE_TMPDIR/bad.stdout"
	[ "$(cat "$BATS_FILE_TMPDIR/bad.status")" -eq 1 ]
}

@test "bad kernel fails every client peeloff case" {
	run results_of_kind client-peeloff "$BAD"
	[ "${#lines[@]}" -ge 24 ]
	[ "$(printf '%s\n' "${lines[@]}" | grep -c '^not ok ')" -eq "${#lines[@]}" ]
}

@test "bad kernel passes controls and server peeloff" {
	run results_of_kind control "$BAD"
	[ "${#lines[@]}" -ge 40 ]
	[ "$(printf '%s\n' "${lines[@]}" | grep -c '^ok ')" -eq "${#lines[@]}" ]
	run results_of_kind server-peeloff "$BAD"
	[ "${#lines[@]}" -ge 12 ]
	[ "$(printf '%s\n' "${lines[@]}" | grep -c '^ok ')" -eq "${#lines[@]}" ]
}

@test "bad kernel failures name the unlabeled socket" {
	local name

	for name in $(results_of_kind client-peeloff "$BAD" | awk '{ print $4 }'); do
		diagnostics_of "$name" "$BAD" >"$BATS_TEST_TMPDIR/diag"
		grep -Eq '^# avc: +denied .* tcontext=system_u:object_r:unlabeled_t:s0 tclass=sctp_socket' \
			"$BATS_TEST_TMPDIR/diag" || {
			echo "no unlabeled sctp_socket denial after $name:"
			cat "$BATS_TEST_TMPDIR/diag"
			return 1
		}
		grep -q '^# oracle peer: FAIL' "$BATS_TEST_TMPDIR/diag" || {
			echo "no failed peer oracle after $name"
			return 1
		}
	done
}
