#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
#
# tools/parse-results on canned guest output in tests/fixtures/: *.tap files stand for the
# results port, *.console files for the serial console (CRLF line ends, kernel messages).
# Each test checks the exit status and the summary lines that explain it. The panic traces
# in the console fixtures were recorded from a Debian 6.1 cloud kernel under QEMU.
# Not covered here: the host runner and real boots (tests/run-qemu.bats).

load helpers

setup()
{
	FIXTURES=$BATS_TEST_DIRNAME/fixtures
	PARSE=$BATS_TEST_DIRNAME/../tools/parse-results
	cd "$FIXTURES" || return 1
}


@test "all cases ok gives 0" {
	run "$PARSE" all-ok.tap
	assert_status 0
	assert_line_has "cases: planned=6 ok=6 failed=0 skipped=0 missing=0"
	assert_line_has "verdict: 0 (6 of 6 cases passed)"
}

@test "client-peeloff failure gives 1 with diagnostics" {
	run "$PARSE" client-peeloff-fail.tap
	assert_status 1
	assert_line_has "failed: not ok 2 cipso-tag1/client-peeloff/stream-server.connect # exit=1 expected=PASS"
	assert_line_has "# oracle peer: FAIL getpeercon on the peeled-off socket"
	assert_line_has "bug reproduced: 1 peeloff case failed"
	refute_line_has "sctp_peeloff_client: exit 1"
}

@test "server-peeloff failure gives 1" {
	run "$PARSE" server-peeloff-fail.tap
	assert_status 1
	assert_line_has "failed: not ok 6 calipso/server-peeloff/peeloff-server.sendmsg"
	assert_line_has "# avc: denied { recv }"
}

@test "control failure gives 125 despite peeloff failure" {
	run "$PARSE" control-fail.tap
	assert_status 125
	assert_line_has "failed: not ok 4 calipso/control/seq-server.connectx # exit=5"
	assert_line_has "failed: not ok 5 calipso/client-peeloff/seq-server.connectx"
	assert_line_has "verdict: 125 (1 control case failed"
}

@test "panic before first case gives 125 with excerpt" {
	run "$PARSE" --console panic-before-first-case.console empty.tap
	assert_status 125
	assert_line_has "no TAP in empty.tap"
	assert_line_has "crash: first signature at console line 13:"
	assert_line_has "BUG: kernel NULL pointer dereference"
	assert_line_has "Kernel panic - not syncing: Attempted to kill init!"
	assert_line_has "the kernel crashed before the first case"
}

@test "panic during peeloff case gives 1" {
	run "$PARSE" --console panic-peeloff.console panic-peeloff.tap
	assert_status 1
	assert_line_has "interrupted: 3 cipso-tag1/server-peeloff/peeloff-server.connect (started, did not end)"
	assert_line_has "interrupted: 4 calipso/control/seq-server.connectx (started, did not end)"
	assert_line_has "Kernel panic - not syncing: sysrq triggered crash"
	assert_line_has "the kernel crashed while a peeloff case ran"
}

@test "panic during peeloff case with --crash-verdict untestable gives 125" {
	run "$PARSE" --crash-verdict untestable --console panic-peeloff.console panic-peeloff.tap
	assert_status 125
	assert_line_has "while a peeloff case ran (--crash-verdict untestable)"
}

@test "panic during control case gives 125" {
	run "$PARSE" --console panic-control.console panic-control.tap
	assert_status 125
	assert_line_has "interrupted: 4 calipso/control/seq-server.connectx"
	assert_line_has "the kernel crashed while only control cases ran"
}

@test "hang during peeloff case gives 1 and names the timeout" {
	run "$PARSE" --timed-out 120 --console hang-peeloff.console hang-peeloff.tap
	assert_status 1
	assert_line_has "interrupted: 5 calipso/client-peeloff/seq-server.connectx"
	assert_line_has "the guest hung and was stopped after 120 s while a peeloff case ran"
	refute_line_has "crash:"
}

@test "no TAP at all gives 125" {
	run "$PARSE" --console boot-only.console empty.tap
	assert_status 125
	assert_line_has "verdict: 125 (no TAP output: the output ended before the first case)"
}

@test "no TAP after panic in boot gives 125 with excerpt" {
	run "$PARSE" --console no-tap.console empty.tap
	assert_status 125
	assert_line_has "VFS: Unable to mount root fs"
	assert_line_has "no TAP output: the kernel crashed before the first case"
}

@test "results file without TAP falls back to console" {
	run "$PARSE" --console console-only.console empty.tap
	assert_status 0
	assert_line_has "source: console-only.console (console log; no TAP in empty.tap)"
	assert_line_has "cases: planned=6 ok=6"
}

@test "console given alone is parsed" {
	run "$PARSE" --console console-only.console
	assert_status 0
	assert_line_has "source: console-only.console (console log)"
}

@test "results port wins over console" {
	run "$PARSE" --console console-only.console client-peeloff-fail.tap
	assert_status 1
	assert_line_has "source: client-peeloff-fail.tap (results port)"
}

@test "kernel messages between and inside TAP lines" {
	run "$PARSE" --console kernel-noise.console empty.tap
	assert_status 1
	assert_line_has "cases: planned=6 ok=5 failed=1 skipped=0 missing=0"
	assert_line_has "failed: not ok 2 cipso-tag1/client-peeloff/stream-server.connect # exit=1"
	refute_line_has "malformed:"
}

@test "garbage inside a result line is malformed, not a crash" {
	run "$PARSE" garbage.tap
	assert_status 125
	assert_line_has "malformed: line 11: invalid test name: ok 2 cipso-tag1/client-peeloff/stre?[0m?am-server.connect"
	assert_line_has "note: 3 non-TAP lines ignored"
	assert_line_has "missing=1"
	assert_line_has "1 result line malformed, first: test 2"
	refute_line_has "interrupted:"
	refute_line_has "ok 99"
}

@test "CRLF line ends are accepted" {
	run "$PARSE" crlf.tap
	assert_status 0
	assert_line_has "cases: planned=6 ok=6 failed=0 skipped=0 missing=0"
}

@test "truncated final line is dropped" {
	run "$PARSE" truncated.tap
	assert_status 125
	assert_line_has "malformed: line 12: truncated final line: ok 4 calipso/control/seq-serv"
	assert_line_has "interrupted: 4 calipso/control/seq-server.connectx"
	assert_line_has "the output ended while only control cases ran"
}

@test "two TAP blocks: the last one is evaluated" {
	run "$PARSE" two-blocks.tap
	assert_status 0
	assert_line_has "note: 2 TAP blocks found, the last one (line 8) is evaluated"
	assert_line_has "plan: 1..6 (line 11)"
}

@test "Bail out gives 125 with the reason" {
	run "$PARSE" bail-out.tap
	assert_status 125
	assert_line_has "the guest bailed out: SELinux is not enforcing"
}

@test "Bail out after the plan gives 125" {
	run "$PARSE" bail-out-no-sctp.tap
	assert_status 125
	assert_line_has "the guest bailed out: SCTP is not available"
}

@test "cases left out by peeloff_cases do not count" {
	run "$PARSE" deselected.tap
	assert_status 0
	assert_line_has "verdict: 0 (2 of 2 selected cases passed, 1 not selected by peeloff_cases)"
}

@test "peeloff_cases selecting nothing gives 125" {
	run "$PARSE" none-selected.tap
	assert_status 125
	assert_line_has "peeloff_cases selected no case: check the pattern"
}

@test "peeloff timeouts without label evidence give 125" {
	run "$PARSE" peeloff-timeout-only.tap
	assert_status 125
	assert_line_has "2 peeloff cases failed in a way that is not a labeling bug"
}

@test "selection without peeloff case gives 125" {
	run "$PARSE" controls-only.tap
	assert_status 125
	assert_line_has "no peeloff case ran: peeloff_cases must select one"
}

@test "skipped cases give 125" {
	run "$PARSE" skipped.tap
	assert_status 125
	assert_line_has "skipped: ok 5 calipso/client-peeloff/seq-server.connectx # SKIP CALIPSO not configured"
	assert_line_has "verdict: 125 (2 cases skipped, first: ok 5"
}

@test "peeloff failure with skipped cases gives 1" {
	run "$PARSE" peeloff-fail-skipped.tap
	assert_status 1
	assert_line_has "skipped=3"
}

@test "duplicate test number gives 125" {
	run "$PARSE" duplicate.tap
	assert_status 125
	assert_line_has "error: test 2 reported twice (lines 8 and 13)"
	assert_line_has "ok=6"
}

@test "missing plan gives 125" {
	run "$PARSE" no-plan.tap
	assert_status 125
	assert_line_has "no plan line (1..N)"
}

@test "test number outside the plan gives 125" {
	run "$PARSE" out-of-plan.tap
	assert_status 125
	assert_line_has "test 7 is outside the plan 1..6"
}

@test "missing results file gives 128" {
	run "$PARSE" does-not-exist.tap
	assert_status 128
	assert_line_has "cannot read results file does-not-exist.tap"
}

@test "invalid option gives 129" {
	run "$PARSE" --bogus all-ok.tap
	assert_status 129
	assert_line_has "unknown option '--bogus'"
}

@test "invalid crash verdict gives 129" {
	run "$PARSE" --crash-verdict maybe all-ok.tap
	assert_status 129
}

@test "no input gives 129" {
	run "$PARSE"
	assert_status 129
}

@test "help exits 0 and lists the statuses" {
	run "$PARSE" --help
	assert_status 0
	assert_line_has "--crash-verdict"
	assert_line_has "125  no TAP"
}

@test "missing result after done line gives 125" {
	run "$PARSE" missing-result-done.tap
	assert_status 125
	assert_line_has "1 result of 6 missing although the guest printed its done line"
}

@test "ended case without printed result is not interrupted" {
	run "$PARSE" --console panic-ended-peeloff.console panic-ended-peeloff.tap
	assert_status 125
	assert_line_has "source: panic-ended-peeloff.tap (results port)"
	assert_line_has "interrupted: 2 cipso-tag1/control/T1-02-stream-server-connect (started, did not end)"
	assert_line_has "interrupted: 6 calipso/control/CA-09-seq-server-first-label (started, did not end)"
	assert_line_has "unprinted: 4 5 (ended, but the output stopped before their results)"
	refute_line_has "interrupted: 5 "
	assert_line_has "the kernel crashed while only control cases ran"
}

@test "ended case on the console with a split end line" {
	run "$PARSE" --console panic-ended-peeloff.console empty.tap
	assert_status 125
	assert_line_has "source: panic-ended-peeloff.console (console log; no TAP in empty.tap)"
	assert_line_has "unprinted: 4 5 (ended, but the output stopped before their results)"
	refute_line_has "malformed:"
	assert_line_has "the kernel crashed while only control cases ran"
}

@test "ended case with crash verdict untestable stays 125" {
	run "$PARSE" --crash-verdict untestable --console panic-ended-peeloff.console \
		panic-ended-peeloff.tap
	assert_status 125
	assert_line_has "while only control cases ran"
}

@test "start and end lines keep the diagnostics of a failure" {
	run "$PARSE" interleaved.tap
	assert_status 1
	assert_line_has "failed: not ok 2 cipso-tag1/client-peeloff/T1-06-stream-server-connect # exit=10"
	assert_line_has "	# sctp_peeloff_client: send on peeled-off socket: Permission denied"
	assert_line_has "	# oracle peer: FAIL getpeercon on the peeled-off socket"
	assert_line_has "	# avc: denied { write }"
	refute_line_has "# end 4"
	refute_line_has "# start 4"
}

@test "truncated console log is parsed up to the cut" {
	run "$PARSE" --console truncated.console empty.tap
	assert_status 125
	assert_line_has "malformed: line 25: truncated final line: ok 4 calipso/control/seq-ser"
	assert_line_has "cases: planned=6 ok=3 failed=0 skipped=0 missing=3"
	assert_line_has "interrupted: 4 calipso/control/seq-server.connectx"
	assert_line_has "the output ended while only control cases ran"
}

@test "two TAP blocks on the console: the last one is evaluated" {
	run "$PARSE" --console two-blocks.console empty.tap
	assert_status 0
	assert_line_has "note: 2 TAP blocks found, the last one (line 34) is evaluated"
	assert_line_has "cases: planned=6 ok=6 failed=0 skipped=0 missing=0"
}

@test "results port wins over a truncated console" {
	run "$PARSE" --console truncated.console all-ok.tap
	assert_status 0
	assert_line_has "source: all-ok.tap (results port)"
	refute_line_has "malformed:"
}

@test "empty console names the serial console options" {
	run "$PARSE" --console empty.console empty.tap
	assert_status 125
	assert_line_has "verdict: 125 (no serial console output (empty console log): build the kernel with CONFIG_SERIAL_8250_CONSOLE=y and boot it without 8250.nr_uarts=0 (no TAP output: the output ended before the first case))"
}

@test "initramfs unpack failure is named" {
	run "$PARSE" --console unpack-failed.console empty.tap
	assert_status 125
	assert_line_has "the kernel could not unpack the initramfs (Initramfs unpacking failed: invalid magic at start of compressed archive): rebuild the image with make image"
	assert_line_has "(no TAP output: the kernel crashed before the first case)"
}

@test "init that cannot run names the binfmt options" {
	run "$PARSE" --console exec-failed.console empty.tap
	assert_status 125
	assert_line_has "the kernel could not run /init (Failed to execute /init (error -8)): build it with CONFIG_BINFMT_ELF=y and CONFIG_BINFMT_SCRIPT=y"
}

@test "missing init names the initramfs" {
	run "$PARSE" --console no-tap.console empty.tap
	assert_status 125
	assert_line_has "the kernel found no /init in the initramfs (VFS: Unable to mount root fs"
}

@test "hang after a long quiet time gives 1" {
	run "$PARSE" --timed-out 60 --quiet-for 40 hang-case-limit.tap
	assert_status 1
	assert_line_has "interrupted: 2 cipso-tag1/client-peeloff/T1-06-stream-server-connect (started, did not end)"
	assert_line_has "unprinted: 4 5 6 (ended, but the output stopped before their results)"
	assert_line_has "the guest hung and was stopped after 60 s while a peeloff case ran"
}

@test "timeout while results still printed gives 125" {
	run "$PARSE" --timed-out 60 --quiet-for 26 hang-case-limit.tap
	assert_status 125
	assert_line_has "verdict: 125 (5 results of 6 missing: the guest was stopped after 60 s while it still printed results (last output 26 s before, a case ends within 27 s): the timeout is too short for this kernel; pass a larger --timeout)"
}

@test "quiet time of exactly the case limit is a hang" {
	run "$PARSE" --timed-out 60 --quiet-for 27 hang-case-limit.tap
	assert_status 1
}

@test "timeout without quiet time counts as a hang" {
	run "$PARSE" --timed-out 60 hang-case-limit.tap
	assert_status 1
	assert_line_has "the guest hung and was stopped after 60 s while a peeloff case ran"
}

@test "invalid quiet time gives 129" {
	run "$PARSE" --timed-out 60 --quiet-for soon hang-case-limit.tap
	assert_status 129
	assert_line_has "invalid --quiet-for 'soon'"
}
