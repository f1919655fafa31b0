#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
#
# Option handling and early failures of the four SCTP test programs, run on
# the build host against the binaries in $BIN (default build/bin, relative to
# the repository root): -h, invalid options and operands (exit 2 and a first
# line that names the bad value), exit 4 when the kernel has no SCTP, static
# linking, and the generated exitcodes.sh.
#
# Not covered here: associations, peeloff, replies and oracles. They need
# SCTP, SELinux and NetLabel, which only the QEMU guest has.

PROGRAMS=(sctp_server sctp_peeloff_server sctp_client sctp_peeloff_client)
CLIENTS=(sctp_client sctp_peeloff_client)
SERVERS=(sctp_server sctp_peeloff_server)

setup() {
	cd "${BATS_TEST_DIRNAME}/.." || return 1
	BIN=${BIN:-build/bin}
}

# Print the operands that make a valid command line for program $1.
valid_operands() {
	case "$1" in
	sctp_server | sctp_client) echo "stream 127.0.0.1 1035" ;;
	*) echo "127.0.0.1 1035" ;;
	esac
}

# Run program $1 with the remaining arguments, then its valid operands.
run_with_operands() {
	local program=$1
	local -a operands

	shift
	read -r -a operands <<<"$(valid_operands "${program}")"
	LAST_COMMAND="${program} $* ${operands[*]}"
	run timeout 10 "${BIN}/${program}" "$@" "${operands[@]}"
}

# Run program $1 with exactly the remaining arguments.
run_program() {
	local program=$1

	shift
	LAST_COMMAND="${program} $*"
	run timeout 10 "${BIN}/${program}" "$@"
}

expect_status() {
	if [ "${status}" -ne "$1" ]; then
		printf '%s: expected exit status %s, got %s; output:\n%s\n' \
			"${LAST_COMMAND}" "$1" "${status}" "${output}"
		return 1
	fi
}

expect_output() {
	if [[ "${output}" != *"$1"* ]]; then
		printf '%s: expected output containing "%s", got:\n%s\n' \
			"${LAST_COMMAND}" "$1" "${output}"
		return 1
	fi
}

expect_first_line() {
	if [[ "${lines[0]}" != *"$1"* ]]; then
		printf '%s: expected a first line containing "%s", got:\n%s\n' \
			"${LAST_COMMAND}" "$1" "${lines[0]}"
		return 1
	fi
}

# Check a usage error: exit 2, the reason $1 on the first line, then the usage.
expect_usage_error() {
	expect_status 2
	expect_first_line "$1"
	expect_output "usage: "
}

# Skip when the host has SCTP, because then the programs get past socket().
skip_if_sctp_available() {
	if [ -e /proc/net/sctp ]; then
		skip "this host has SCTP (/proc/net/sctp exists)"
	fi
}

@test "binaries exist and are executable" {
	local program

	for program in "${PROGRAMS[@]}"; do
		[ -x "${BIN}/${program}" ] || {
			echo "${BIN}/${program} is missing: run make -C src"
			return 1
		}
	done
}

@test "binaries are statically linked" {
	local program

	for program in "${PROGRAMS[@]}"; do
		run readelf --program-headers "${BIN}/${program}"
		expect_status 0
		if [[ "${output}" == *INTERP* ]]; then
			echo "${program} has a program interpreter (INTERP): not static"
			return 1
		fi
	done
}

@test "exitcodes.sh matches exitcodes.h" {
	local name value

	# shellcheck source=/dev/null
	. "${BIN}/exitcodes.sh"
	[ "${PEELOFF_EXIT_PASS}" = 0 ]
	[ "${PEELOFF_EXIT_FAIL}" = 1 ]
	[ "${PEELOFF_EXIT_USAGE}" = 2 ]
	[ "${PEELOFF_EXIT_SKIP}" = 4 ]
	while read -r _ name value; do
		if [ "${!name}" != "${value}" ]; then
			echo "exitcodes.sh has ${name}=${!name}, exitcodes.h has ${value}"
			return 1
		fi
	done < <(grep '^#define PEELOFF_EXIT_' src/exitcodes.h)
	[ "$(grep -c '^PEELOFF_EXIT_[A-Z]*=[0-9]*$' "${BIN}/exitcodes.sh")" -eq 12 ]
}

@test "-h prints the usage and exits 0" {
	local program

	for program in "${PROGRAMS[@]}"; do
		run_program "${program}" -h
		expect_status 0
		expect_output "usage: ${program} "
		expect_output "  -t SECONDS  "
		expect_output "(default: 2)"
		expect_output "  -v  "
		expect_output "  -h  "
		expect_output "  ADDR  "
		expect_output "  PORT  "
		expect_output "Exit status:"
	done
}

@test "usage of the clients names -x -n -b -e" {
	local program option

	for program in "${CLIENTS[@]}"; do
		run_program "${program}" -h
		expect_status 0
		for option in "-x " "-n " "-b ADDR" "-e LEVEL"; do
			expect_output "  ${option}"
		done
	done
	run_program sctp_peeloff_client -h
	expect_output "  -p LEVEL"
}

@test "usage of the servers names -f" {
	local program

	for program in "${SERVERS[@]}"; do
		run_program "${program}" -h
		expect_status 0
		expect_output "  -f FILE"
	done
	run_program sctp_server -h
	expect_output "  stream|seq  "
}

@test "unknown option exits 2" {
	local program

	for program in "${PROGRAMS[@]}"; do
		run_with_operands "${program}" -z
		expect_usage_error "unknown option -z"
	done
}

@test "option without its argument exits 2" {
	local program

	for program in "${PROGRAMS[@]}"; do
		run_program "${program}" -t
		expect_usage_error "option -t requires an argument"
	done
}

@test "missing operands exit 2" {
	local program

	for program in "${PROGRAMS[@]}"; do
		run_program "${program}"
		expect_usage_error "missing operands"
		run_program "${program}" -v 127.0.0.1
		expect_usage_error "missing operands"
	done
}

@test "extra operand exits 2" {
	local program
	local -a operands

	for program in "${PROGRAMS[@]}"; do
		read -r -a operands <<<"$(valid_operands "${program}")"
		run_program "${program}" "${operands[@]}" extra
		expect_usage_error "unexpected operand 'extra'"
	done
}

@test "invalid mode exits 2" {
	local program

	for program in sctp_server sctp_client; do
		run_program "${program}" dgram 127.0.0.1 1035
		expect_usage_error "invalid mode 'dgram'"
	done
}

@test "-x with -n exits 2" {
	local program

	for program in "${CLIENTS[@]}"; do
		run_with_operands "${program}" -x -n
		expect_usage_error "-x and -n exclude each other"
		run_with_operands "${program}" -n -x
		expect_usage_error "-x and -n exclude each other"
	done
}

@test "invalid -t values exit 2" {
	local program value

	for program in "${PROGRAMS[@]}"; do
		for value in 0 -1 abc 1e9 3601 0.0001 "" inf 0x10 1.5.5 " 1"; do
			run_with_operands "${program}" -t "${value}"
			expect_usage_error "invalid -t value '${value}'"
		done
	done
}

@test "valid -t values pass option parsing" {
	local program value

	skip_if_sctp_available
	for program in "${PROGRAMS[@]}"; do
		for value in 0.001 0.5 2 3600; do
			run_with_operands "${program}" -t "${value}"
			expect_status 4
		done
	done
}

@test "invalid ports exit 2" {
	local program port

	for program in "${PROGRAMS[@]}"; do
		for port in 0 70000 65536 abc "" 10x 0000001035; do
			if [[ "${program}" == sctp_server || "${program}" == sctp_client ]]; then
				run_program "${program}" stream 127.0.0.1 "${port}"
			else
				run_program "${program}" 127.0.0.1 "${port}"
			fi
			expect_usage_error "invalid PORT '${port}'"
		done
	done
}

@test "non-numeric address exits 2" {
	local program addr

	for program in "${PROGRAMS[@]}"; do
		for addr in localhost example.invalid 1.2.3.4.5 "" "::1::2"; do
			if [[ "${program}" == sctp_server || "${program}" == sctp_client ]]; then
				run_program "${program}" seq "${addr}" 1035
			else
				run_program "${program}" "${addr}" 1035
			fi
			expect_usage_error "invalid ADDR '${addr}'"
			expect_first_line "numeric IPv4 or IPv6"
		done
	done
}

@test "non-numeric -b address exits 2" {
	local program

	for program in "${CLIENTS[@]}"; do
		run_with_operands "${program}" -b localhost
		expect_usage_error "invalid -b address 'localhost'"
	done
}

@test "-b address of the other family exits 2" {
	local program

	for program in "${CLIENTS[@]}"; do
		run_with_operands "${program}" -b ::1
		expect_usage_error "-b address '::1' and ADDR '127.0.0.1' are of different families"
	done
}

@test "invalid -e and -p levels exit 2" {
	run_with_operands sctp_client -e ""
	expect_usage_error "invalid -e value ''"
	run_with_operands sctp_peeloff_client -p "s0 c1"
	expect_usage_error "invalid -p value 's0 c1'"
	run_with_operands sctp_peeloff_client -e s0-s0:c1
	expect_usage_error "invalid -e value 's0-s0:c1'"
	run_with_operands sctp_client -e "s0:c1;rm"
	expect_usage_error "invalid -e value 's0:c1;rm'"
	run_with_operands sctp_peeloff_client -p s0:c1..c5
	expect_usage_error "invalid -p value 's0:c1..c5'"
}

@test "valid -e and -p levels pass parsing" {
	local level

	# Without SCTP on the host the programs get past option parsing and exit 4.
	for level in s0 s0:c1,c5.c9 s0:c182.c192 s0:c0,c12,c1023; do
		run_with_operands sctp_peeloff_client -e "$level" -p "$level"
		[ "$status" -ne 2 ]
	done
}

@test "empty -f file name exits 2" {
	local program

	for program in "${SERVERS[@]}"; do
		run_with_operands "${program}" -f ""
		expect_usage_error "invalid -f value ''"
	done
}

@test "options of other programs exit 2" {
	run_with_operands sctp_server -x
	expect_usage_error "unknown option -x"
	run_with_operands sctp_client -p s0
	expect_usage_error "unknown option -p"
	run_with_operands sctp_peeloff_client -f /tmp/ready
	expect_usage_error "unknown option -f"
}

@test "clients exit 4 without SCTP" {
	local program

	skip_if_sctp_available
	for program in "${CLIENTS[@]}"; do
		run_with_operands "${program}" -v -t 0.5
		expect_status 4
		expect_first_line "${program}: socket(AF_INET, "
		expect_first_line "IPPROTO_SCTP): "
		expect_first_line "SCTP is not available in this kernel"
	done
	run_program sctp_client -x seq ::1 1035
	expect_status 4
	expect_first_line "socket(AF_INET6, SOCK_SEQPACKET, IPPROTO_SCTP)"
}

@test "servers exit 4 without SCTP" {
	local program

	skip_if_sctp_available
	for program in "${SERVERS[@]}"; do
		run_with_operands "${program}" -f "${BATS_TEST_TMPDIR}/ready"
		expect_status 4
		expect_first_line "SCTP is not available in this kernel"
		[ ! -e "${BATS_TEST_TMPDIR}/ready" ]
	done
}

@test "socket() without SCTP fails with EPROTONOSUPPORT or ESOCKTNOSUPPORT" {
	skip_if_sctp_available
	run_program sctp_client stream 127.0.0.1 1035
	expect_status 4
	expect_first_line "SOCK_STREAM, IPPROTO_SCTP): Protocol not supported"
	run_program sctp_client seq 127.0.0.1 1035
	expect_status 4
	expect_first_line "SOCK_SEQPACKET, IPPROTO_SCTP): Socket type not supported"
}
