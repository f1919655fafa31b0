#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
#
# One real boot of the guest image on the default kernel (Debian's cloud
# kernel, SCTP as a module) under QEMU: the guest must prove that it runs
# the project's policy enforcing, every case must end as expected, and the
# cases that must be denied must be denied by the MLS constraint.

load helpers

setup_file() {
	cd "$BATS_TEST_DIRNAME/.."
	export OUT="$BATS_FILE_TMPDIR/run"
	run_boot ./run-qemu.sh --output-dir "$OUT"
	echo "$output" >"$BATS_FILE_TMPDIR/stdout"
	echo "$status" >"$BATS_FILE_TMPDIR/status"
}

setup() {
	cd "$BATS_TEST_DIRNAME/.."
	TAP="$OUT/results.tap"
}

@test "boot verdict is good" {
	cat "$BATS_FILE_TMPDIR/stdout"
	[ "$(cat "$BATS_FILE_TMPDIR/status")" -eq 0 ]
}

@test "boot proves enforcing MLS policy" {
	grep -q '^# selinux: enforce=1 mls=1 extended_socket_class=1$' "$TAP"
	grep -q '^# selinux: network_peer_controls=1 context=system_u:system_r:peeloff_harness_t:s0-s0:c0.c1023$' "$TAP"
}

@test "boot reports every case" {
	plan=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$TAP")
	[ "$plan" -ge 96 ]
	[ "$(grep -c '^ok ' "$TAP")" -eq "$plan" ]
	[ "$(grep -c '^not ok ' "$TAP")" -eq 0 ]
	grep -q "^# Totals: pass:$plan fail:0 xfail:0 xpass:0 skip:0 error:0$" "$TAP"
}

@test "boot runs every client peeloff case" {
	[ "$(grep -c '^ok [0-9]* [a-z0-9-]*/client-peeloff/' "$TAP")" -ge 24 ]
	[ "$(grep -c '^ok [0-9]* [a-z0-9-]*/server-peeloff/' "$TAP")" -ge 12 ]
}

@test "boot denies an out-of-range client" {
	# T1-05 must time out because the server's peer recv check drops the
	# INIT of a client at c193, and the kernel must log that denial.
	grep -A20 '^ok [0-9]* cipso-tag1/control/T1-05-stream-server-deny-c193$' "$TAP" |
		grep -Eq '^# avc: +denied +\{ recv \} .*tcontext=system_u:object_r:netlabel_peer_t:s0:c182.c193 tclass=peer'
}
