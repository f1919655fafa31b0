#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
#
# Checks of the CIL policy on the compiled binary: it builds at the policy
# version the guest loads, it has the MLS constraint and the capabilities the
# matrix depends on, and no rule lets a test domain use an unlabeled socket
# (such a rule would hide the client peeloff bug).

setup() {
	cd "$BATS_TEST_DIRNAME/.."
	POLICY=${POLICY:-build/policy/policy.31}
	WORK=$(mktemp -d)
}

teardown() {
	rm -rf "$WORK"
}

# Compile policy/peeloff.cil plus extra CIL text ($1) into $WORK/policy.
compile_with() {
	printf '%s\n' "$1" >"$WORK/extra.cil"
	secilc --mls=true --policyvers=31 --filecontext=/dev/null -o "$WORK/policy" \
		policy/peeloff.cil build/policy/categories.cil "$WORK/extra.cil" "${@:2}"
}

# Print the allow rules that give a test domain any sctp_socket permission
# on unlabeled_t.
unlabeled_socket_rules() {
	local domain

	for domain in test_sctp_client_t test_sctp_server_t; do
		sesearch -A -s "$domain" -t unlabeled_t -c sctp_socket "$1"
	done
}

@test "policy compiles at version 31 with MLS" {
	[ -f "$POLICY" ]
	run seinfo "$POLICY"
	[ "$status" -eq 0 ]
	[[ "$output" == *"Policy Version:             31 (MLS enabled)"* ]]
	[[ "$output" == *"Handle unknown classes:     allow"* ]]
	[[ "$output" =~ Categories:\ +1024 ]]
}

@test "policy enables both network capabilities" {
	run seinfo "$POLICY" --polcap
	[ "$status" -eq 0 ]
	[[ "$output" == *extended_socket_class* ]]
	[[ "$output" == *network_peer_controls* ]]
}

@test "policy constrains peer recv by level" {
	run seinfo "$POLICY" --constrain
	[ "$status" -eq 0 ]
	[[ "$output" == *"mlsconstrain peer recv (l1 dom l2"* ]]
}

@test "policy allows no unlabeled sctp socket" {
	run unlabeled_socket_rules "$POLICY"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "unlabeled socket check finds a rule" {
	# The same check on a policy that has such a rule (built with the
	# neverallow disabled) must report it, or the test above proves nothing.
	compile_with '(allow test_sctp_client_t unlabeled_t (sctp_socket (write)))' \
		--disable-neverallow
	run unlabeled_socket_rules "$WORK/policy"
	[ "$status" -eq 0 ]
	[[ "$output" == *"allow test_sctp_client_t unlabeled_t:sctp_socket write;"* ]]
}

@test "neverallow rejects an unlabeled socket rule" {
	run compile_with '(allow test_sctp_domain unlabeled_t (sctp_socket (read)))'
	[ "$status" -ne 0 ]
	[[ "$output" == *"neverallow"* ]]
}

@test "policy declares every initial SID" {
	# The kernel takes initial SIDs by position: 27 on Linux 6.1.
	run seinfo "$POLICY" --initialsid
	[ "$status" -eq 0 ]
	[[ "$output" == *"Initial SIDs: 27"* ]]
}
