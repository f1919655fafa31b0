# SPDX-License-Identifier: GPL-2.0
#
# Evaluate the TAP 13 output of one guest run and print a summary whose last line is
# "verdict: <status> (<reason>)". The exit status is the verdict (0, 1 or 125), and
# tools/parse-results documents what each one means. That script sets these variables:
#   truncated      1 when the input does not end with a newline: its last line is dropped
#   crash_file     file with the crash excerpt taken from the console log ("" for none)
#   crash_line     console line number of the first crash signature (0 for none)
#   timed_out      seconds after which the host stopped the guest (0: the guest exited itself)
#   quiet_for      seconds without results output before that stop (-1: unknown)
#   crash_verdict  "bad" or "untestable": verdict when a peeloff case was running at a crash
#   source         name of the input, for the summary
#   console_hint   cause and fix that the console log shows for a run without TAP ("" for
#                  none), e.g. an empty console or an initramfs the kernel could not unpack
#
# Rules: only lines that start with a TAP token count, and a result line must have the form
# the guest init prints (number, name <section>/<kind>/<case>, optional " # directive").
# Kernel console text that splits a TAP line ("ok 3 a/b[    1.2] msg" then "/c") is cut out
# and the two halves are joined again. Any line that still does not match is reported as
# malformed and ignored, and a result whose number is readable but whose line is not makes
# the run untestable. A new "TAP version" line starts a new block, and only the last block
# is evaluated because a later block comes from the init starting again.

BEGIN {
	KERNEL_TS = "\\[ *[0-9]+\\.[0-9]+\\]"
	NAME_RE = "^[A-Za-z0-9._+=:,-]+(/[A-Za-z0-9._+=:,-]+)+$"
	MAX_DIAG = 3
	MAX_LIST = 5
	nblocks = 0
	inblock = 0
	noise = 0
	nmalformed = 0
	pending = ""
	have_prev = 0
}

{
	gsub(/\r/, "")
	if (have_prev)
		handle_line(prev, NR - 1)
	prev = $0
	have_prev = 1
}

END {
	if (have_prev && truncated)
		note_malformed(prev, NR, "truncated final line")
	else if (have_prev)
		handle_line(prev, NR)
	if (pending != "")
		note_malformed(pending, pending_lineno, "TAP line cut by console output")
	exit evaluate()
}

function starts_tap(line)
{
	return line ~ /^(TAP version|1\.\.|ok |not ok |Bail out!|# )/
}

# Match the lines that must not contain kernel text. Diagnostics may, as copies of dmesg lines.
function strict_tap(line)
{
	return line ~ /^(TAP version|1\.\.|ok |not ok |# start |# end )/
}

# Join a TAP line that kernel console output split in two, then classify it.
function handle_line(line, lineno)
{
	if (pending != "") {
		if (line ~ ("^" KERNEL_TS)) {
			noise++
			return
		}
		line = pending line
		lineno = pending_lineno
		pending = ""
	}
	if (strict_tap(line) && match(line, KERNEL_TS) && RSTART > 1) {
		pending = substr(line, 1, RSTART - 1)
		pending_lineno = lineno
		noise++
		return
	}
	classify(line, lineno)
}

function classify(line, lineno)
{
	if (line ~ /^TAP version /) {
		start_block(line, lineno)
		return
	}
	if (!inblock) {
		if (starts_tap(line))
			stray_before_header++
		else
			noise++
		return
	}
	if (line ~ /^1\.\./)
		plan_line(line, lineno)
	else if (line ~ /^Bail out!/)
		bail_line(line)
	else if (line ~ /^(not )?ok /)
		result_line(line, lineno)
	else if (line ~ /^# start /)
		start_line(line, lineno)
	else if (line ~ /^# end /)
		end_line(line, lineno)
	else if (line ~ /^#( |$)/)
		diag_line(line)
	else
		noise++
}

function start_block(line, lineno)
{
	if (line !~ /^TAP version [0-9]+$/) {
		note_malformed(line, lineno, "invalid version line")
		return
	}
	nblocks++
	inblock = 1
	block_lineno = lineno
	plan = -1
	plan_lineno = 0
	bail = 0
	bail_reason = ""
	done_seen = 0
	case_limit = 0
	totals = ""
	nresults = 0
	nerrors = 0
	last_result = 0
	split("", result)
	split("", rname)
	split("", rkind)
	split("", rline)
	split("", rlineno)
	split("", rdiag)
	split("", rlabelbug)
	split("", rndiag)
	split("", started)
	split("", ended)
	split("", unreadable)
	split("", errors)
}

# Record a line that looks like TAP but is not valid. Control characters become "?" so that
# escape sequences in the log cannot change the terminal.
function note_malformed(line, lineno, why)
{
	nmalformed++
	gsub(/[^[:print:]\t]/, "?", line)
	if (nmalformed <= MAX_LIST)
		malformed[nmalformed] = "line " lineno ": " why ": " line
}

function note_error(msg)
{
	nerrors++
	errors[nerrors] = msg
}

function plan_line(line, lineno)
{
	if (line !~ /^1\.\.[0-9]+( +#.*)?$/ || line ~ KERNEL_TS) {
		note_malformed(line, lineno, "invalid plan")
		return
	}
	if (plan >= 0) {
		note_error("second plan at line " lineno " (first at line " plan_lineno ")")
		return
	}
	plan = substr(line, 4) + 0
	plan_lineno = lineno
	plan_text = line
}

function bail_line(line)
{
	bail = 1
	bail_reason = line
	sub(/^Bail out! */, "", bail_reason)
}

# Parse "ok|not ok <n> <name>[ # <directive>]" and record it once per test number.
function result_line(line, lineno, status, rest, num, name, directive, i, parts)
{
	if (!match(line, /^(not )?ok [1-9][0-9]* /)) {
		note_malformed(line, lineno, "invalid result line")
		return
	}
	status = (substr(line, 1, 4) == "not ") ? "fail" : "ok"
	num = substr(line, 1, RLENGTH - 1)
	sub(/^(not )?ok /, "", num)
	num += 0
	rest = substr(line, RLENGTH + 1)
	name = rest
	directive = ""
	i = index(rest, " # ")
	if (i > 0) {
		name = substr(rest, 1, i - 1)
		directive = substr(rest, i + 3)
	}
	if (name !~ NAME_RE || line ~ KERNEL_TS) {
		note_malformed(line, lineno, name !~ NAME_RE ? "invalid test name" : \
			"kernel text in result line")
		unreadable[num] = 1
		return
	}
	if (num in result) {
		note_error("test " num " reported twice (lines " rlineno[num] " and " lineno ")")
		return
	}
	if (status == "ok" && toupper(directive) ~ /^SKIP/)
		status = directive ~ /not selected by peeloff_cases/ ? "deselected" : "skip"
	split(name, parts, "/")
	result[num] = status
	rname[num] = name
	rkind[num] = parts[2]
	rline[num] = line
	rlineno[num] = lineno
	rdirective[num] = directive
	rndiag[num] = 0
	nresults++
	last_result = num
	if ((num in started) && started[num] != name)
		note_error("test " num " started as " started[num] " but reported as " name)
}

# Start and end lines come from the sections, which run concurrently with the process that
# prints the results. So they may sit between a result and its diagnostics, and they do not
# end the diagnostics of the last result.
function start_line(line, lineno, parts, n)
{
	n = split(line, parts, " ")
	if (n != 4 || parts[3] !~ /^[1-9][0-9]*$/ || parts[4] !~ NAME_RE) {
		note_malformed(line, lineno, "invalid start line")
		return
	}
	started[parts[3] + 0] = parts[4]
}

# "# end N SECONDS": case N finished. Its result may still be unprinted, because the
# results are printed in case order.
function end_line(line, lineno, parts, n)
{
	n = split(line, parts, " ")
	if (n != 4 || parts[3] !~ /^[1-9][0-9]*$/ || parts[4] !~ /^[0-9]+(\.[0-9]+)?$/) {
		note_malformed(line, lineno, "invalid end line")
		return
	}
	ended[parts[3] + 0] = 1
}

# Keep the first diagnostic lines after a failed result because they explain the failure.
function diag_line(line)
{
	if (line ~ /^# Totals:/) {
		totals = line
		last_result = 0
		return
	}
	if (line ~ /^# peeloff-repro: done/) {
		done_seen = 1
		last_result = 0
		return
	}
	if (line ~ /^# case limit: [0-9]+ s/) {
		case_limit = substr(line, 15) + 0
		return
	}
	if (last_result == 0 || result[last_result] != "fail")
		return
	if (line ~ /^# oracle [a-z]+: FAIL/ || line ~ /^# avc: +denied/)
		rlabelbug[last_result] = 1
	if (rndiag[last_result] >= MAX_DIAG)
		return
	rndiag[last_result]++
	rdiag[last_result] = rdiag[last_result] "\t" line "\n"
}

function plural(n, word)
{
	return n " " word (n == 1 ? "" : "s")
}

# Print the summary and return the verdict.
function evaluate(    n)
{
	printf "source: %s\n", source
	if (noise > 0)
		printf "note: %s ignored\n", plural(noise, "non-TAP line")
	if (nmalformed > 0)
		print_malformed()
	if (nblocks == 0)
		return no_tap()
	if (nblocks > 1)
		printf "note: %d TAP blocks found, the last one (line %d) is evaluated\n",
			nblocks, block_lineno
	if (bail)
		return verdict(125, "the guest bailed out: " bail_reason)
	if (plan < 0)
		return no_plan()
	if (plan == 0)
		return verdict(125, "the plan is empty: " plan_text)
	check_numbers()
	count_results()
	print_counts()
	print_failed()
	print_skipped()
	print_interrupted()
	print_crash()
	if (totals == "" && nmissing == 0)
		print "note: no \"# Totals:\" line after the last result"
	if (nerrors > 0) {
		for (n = 1; n <= nerrors; n++)
			printf "error: %s\n", errors[n]
		return verdict(125, "the results are inconsistent: " errors[1])
	}
	return judge()
}

function print_malformed(    n)
{
	for (n = 1; n <= nmalformed && n <= MAX_LIST; n++)
		printf "malformed: %s\n", malformed[n]
	if (nmalformed > MAX_LIST)
		printf "malformed: ... and %d more\n", nmalformed - MAX_LIST
}

function stop_cause()
{
	if (crash_line > 0)
		return "the kernel crashed"
	if (still_running())
		return "the guest was stopped after " timed_out " s while it still printed results" \
			" (last output " quiet_for " s before, a case ends within " case_limit " s)"
	if (timed_out > 0)
		return "the guest hung and was stopped after " timed_out " s"
	return "the output ended"
}

# Succeed when the host stopped a guest that had printed results more recently than the
# longest a case can last: a slow guest, not a hung one.
function still_running()
{
	return crash_line <= 0 && timed_out > 0 && quiet_for >= 0 && case_limit > 0 && \
		quiet_for < case_limit
}

function no_tap()
{
	print_crash()
	if (stray_before_header > 0)
		return verdict(125, "no \"TAP version\" line, " stray_before_header \
			" TAP-like lines ignored")
	if (console_hint != "")
		return verdict(125, console_hint " (no TAP output: " stop_cause() \
			" before the first case)")
	if (timed_out > 0 && crash_line == 0)
		return verdict(125, "no TAP output: " stop_cause() " before the first case; " \
			"a slow kernel or machine needs a larger --timeout")
	return verdict(125, "no TAP output: " stop_cause() " before the first case")
}

function no_plan()
{
	print_crash()
	if (nresults == 0)
		return verdict(125, "no plan and no results: " stop_cause() \
			" before the first case")
	return verdict(125, "no plan line (1..N) in the TAP block")
}

function check_numbers(    n)
{
	for (n in result)
		if (n + 0 > plan)
			note_error("test " n " is outside the plan 1.." plan)
}

function count_results(    n)
{
	nok = nfail = nskip = nmissing = ndeselected = npeeloff_ok = 0
	fail_unrelated = first_unrelated = 0
	fail_control = fail_peeloff = fail_other = 0
	ninterrupted = interrupted_peeloff = nunreadable = nunprinted = 0
	first_skip = first_unreadable = 0
	for (n = 1; n <= plan; n++) {
		if (!(n in result)) {
			nmissing++
			if (n in unreadable) {
				nunreadable++
				if (!first_unreadable)
					first_unreadable = n
			} else if (n in ended) {
				nunprinted++
			} else if (n in started) {
				ninterrupted++
				if (is_peeloff(started[n]))
					interrupted_peeloff++
			}
			continue
		}
		if (result[n] == "ok") {
			nok++
			if (is_peeloff(rname[n]))
				npeeloff_ok++
		}
		else if (result[n] == "deselected")
			ndeselected++
		else if (result[n] == "skip") {
			nskip++
			if (!first_skip)
				first_skip = n
		} else
			count_failure(n)
	}
}

function count_failure(n)
{
	nfail++
	if (rkind[n] == "control")
		fail_control++
	else if (is_peeloff(rname[n]) && bug_signature(n))
		fail_peeloff++
	else if (is_peeloff(rname[n])) {
		fail_unrelated++
		if (!first_unrelated)
			first_unrelated = n
	} else
		fail_other++
}

# Tell whether failed peeloff case n ended the way a labeling bug ends it: an oracle
# failed (exit 1, FAIL), the association or the peeloff was denied (7 DENIED, 9 PEELOFF),
# the send on the peeled-off socket failed (10 SEND), or its diagnostics show a failed
# oracle or an SELinux denial; the numbers are those of
# src/exitcodes.h. A receive that only timed out (11 RECV) can be a slow guest, and a
# timeout of the association (5), a setup error, a server that did not start or a client
# killed by the guest's watchdog is not that bug either.
function bug_signature(n)
{
	return rlabelbug[n] || rdirective[n] ~ /^exit=(1|7|9|10) /
}

function is_peeloff(name, parts)
{
	split(name, parts, "/")
	return parts[2] == "client-peeloff" || parts[2] == "server-peeloff"
}

function print_counts()
{
	printf "plan: %s (line %d)\n", plan_text, plan_lineno
	printf "cases: planned=%d ok=%d failed=%d skipped=%d missing=%d\n",
		plan, nok, nfail, nskip, nmissing
}

function print_failed(    n)
{
	for (n = 1; n <= plan; n++) {
		if (!(n in result) || result[n] != "fail")
			continue
		printf "failed: %s\n", rline[n]
		printf "%s", rdiag[n]
	}
}

function print_skipped(    n, shown)
{
	shown = 0
	for (n = 1; n <= plan && shown < MAX_LIST; n++) {
		if ((n in result) && result[n] == "skip") {
			printf "skipped: %s\n", rline[n]
			shown++
		}
	}
	if (nskip > shown)
		printf "skipped: ... and %d more\n", nskip - shown
}

function print_interrupted(    n, list)
{
	for (n = 1; n <= plan; n++)
		if (!(n in result) && !(n in unreadable) && (n in started) && !(n in ended))
			printf "interrupted: %d %s (started, did not end)\n", n, started[n]
	if (nunprinted == 0)
		return
	list = ""
	for (n = 1; n <= plan; n++)
		if (!(n in result) && !(n in unreadable) && (n in ended))
			list = list " " n
	printf "unprinted:%s (ended, but the output stopped before their results)\n", list
}

function print_crash(    line)
{
	if (crash_line <= 0 || crash_file == "")
		return
	printf "crash: first signature at console line %d:\n", crash_line
	while ((getline line < crash_file) > 0)
		printf "\t%s\n", line
	close(crash_file)
}

# Decide the verdict of a block that has a plan. In order of precedence: a failed control
# case (125), a failed case of unknown kind (125), a failed peeloff case (1), missing results
# although the guest finished (125), missing results because the host stopped a guest that
# still printed results (125), a peeloff case cut short by a crash or hang
# (--crash-verdict), a malformed result (125), other missing results (125), skipped cases
# (125), no case selected by peeloff_cases (125), else 0. Cases that peeloff_cases left
# out do not count.
function judge()
{
	if (fail_control > 0)
		return verdict(125, plural(fail_control, "control case") \
			" failed: the test setup does not work on this kernel")
	if (fail_other > 0)
		return verdict(125, plural(fail_other, "case") " of an unknown kind failed")
	if (fail_unrelated > 0)
		return verdict(125, plural(fail_unrelated, "peeloff case") " failed in a way " \
			"that is not a labeling bug (a timeout or setup error), first: " \
			rline[first_unrelated])
	if (fail_peeloff > 0)
		return verdict(1, "bug reproduced: " plural(fail_peeloff, "peeloff case") \
			" failed and no control case failed")
	if (nmissing > nunreadable && done_seen)
		return verdict(125, missing_text() " although the guest printed its done line")
	if (nmissing > nunreadable && still_running())
		return verdict(125, missing_text() ": " stop_cause() \
			": the timeout is too short for this kernel; pass a larger --timeout")
	if (interrupted_peeloff > 0)
		return judge_interrupted_peeloff()
	if (nunreadable > 0)
		return verdict(125, plural(nunreadable, "result line") \
			" malformed, first: test " first_unreadable)
	if (nmissing > 0)
		return judge_incomplete()
	if (nskip > 0)
		return verdict(125, plural(nskip, "case") " skipped, first: " rline[first_skip])
	if (ndeselected == plan)
		return verdict(125, "peeloff_cases selected no case: check the pattern")
	if (npeeloff_ok == 0)
		return verdict(125, "no peeloff case ran: peeloff_cases must select one")
	if (!done_seen)
		print "note: no \"# peeloff-repro: done\" line"
	if (ndeselected > 0)
		return verdict(0, nok " of " plural(nok, "selected case") " passed, " \
			ndeselected " not selected by peeloff_cases")
	return verdict(0, plan " of " plural(plan, "case") " passed")
}

function missing_text()
{
	return plural(nmissing, "result") " of " plan " missing"
}

function judge_interrupted_peeloff()
{
	if (crash_verdict == "bad")
		return verdict(1, missing_text() ": " stop_cause() " while a peeloff case ran")
	return verdict(125, missing_text() ": " stop_cause() \
		" while a peeloff case ran (--crash-verdict untestable)")
}

function judge_incomplete(    what)
{
	what = missing_text()
	if (nresults == 0 && ninterrupted == 0 && nunprinted == 0)
		return verdict(125, what ": " stop_cause() " before the first case")
	if (ninterrupted > 0)
		return verdict(125, what ": " stop_cause() " while only control cases ran")
	return verdict(125, what ": " stop_cause() " between cases")
}

function verdict(status, reason)
{
	printf "verdict: %d (%s)\n", status, reason
	return status
}
