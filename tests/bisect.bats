#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
#
# A real "git bisect run" with kernels/bisect-step.sh over a throwaway
# history made from Debian's linux-source-6.1: the pristine tree, three
# harmless commits, the commit that reverts the client peeloff fix, and
# three more harmless commits. The bisect must name the reverting commit.
# make check-bisect sets KERNEL_SRC (the cached source repository, tag
# "pristine"), KERNEL_BAD_PATCH and BISECT_WORK. The build directory stays
# in BISECT_WORK, so a second run builds incrementally.

setup_file() {
	cd "$BATS_TEST_DIRNAME/.."
	[ -d "${KERNEL_SRC:-}/.git" ] || skip "KERNEL_SRC is not a git tree: run make check-bisect"
	export REPRO=$PWD TREE=$BISECT_WORK/tree LOG=$BISECT_WORK/bisect.log
	export GIT_AUTHOR_NAME=peeloff GIT_AUTHOR_EMAIL=peeloff@localhost
	export GIT_COMMITTER_NAME=peeloff GIT_COMMITTER_EMAIL=peeloff@localhost

	make_history
	run_bisect
}

# Add a commit that changes no kernel code.
harmless_commit() {
	echo "bisect test commit $1" >>"$TREE/peeloff-bisect.txt"
	git -C "$TREE" add -f peeloff-bisect.txt
	git -C "$TREE" commit -q -m "Harmless change $1"
}

# Reuse the worktree of an earlier run when there is one: checking out only
# changed files keeps the other files' times, so the build stays incremental.
make_history() {
	local i

	mkdir -p "$BISECT_WORK"
	if git -C "$TREE" rev-parse --git-dir >/dev/null 2>&1; then
		git -C "$TREE" bisect reset >/dev/null 2>&1 || true
		git -C "$TREE" am --abort 2>/dev/null || true
		git -C "$TREE" checkout -q -f --detach pristine
		git -C "$TREE" clean -q -f -d
	else
		rm -rf "$TREE"
		git -C "$KERNEL_SRC" worktree prune
		git -C "$KERNEL_SRC" worktree add -q --detach "$TREE" pristine
	fi
	for i in 1 2 3; do
		harmless_commit "$i"
	done
	git -C "$TREE" am -q "$KERNEL_BAD_PATCH"
	git -C "$TREE" rev-parse HEAD >"$BISECT_WORK/culprit"
	for i in 4 5 6; do
		harmless_commit "$i"
	done
}

run_bisect() {
	local start end status=0

	cd "$TREE"
	git bisect start HEAD pristine >"$LOG" 2>&1
	start=$(date +%s)
	git bisect run "$REPRO/kernels/bisect-step.sh" --build-dir "$BISECT_WORK/build" \
		>>"$LOG" 2>&1 || status=$?
	echo "$status" >"$BISECT_WORK/status"
	end=$(date +%s)
	echo $((end - start)) >"$BISECT_WORK/seconds"
	git bisect log >"$BISECT_WORK/bisect-log"
	git rev-parse refs/bisect/bad >"$BISECT_WORK/first-bad"
	git bisect reset >/dev/null 2>&1
}

@test "bisect run completes" {
	tail -n 20 "$LOG"
	[ "$(cat "$BISECT_WORK/status")" -eq 0 ]
	grep -q ' is the first bad commit$' "$LOG"
}

@test "bisect names the reverting commit" {
	[ "$(cat "$BISECT_WORK/first-bad")" = "$(cat "$BISECT_WORK/culprit")" ]
}

@test "bisect judged every step" {
	local steps

	# Seven commits after the good one take log2(7), about 3, steps.
	steps=$(grep -c '^git bisect \(good\|bad\) ' "$BISECT_WORK/bisect-log")
	echo "# $steps steps in $(cat "$BISECT_WORK/seconds") s" >&3
	[ "$steps" -ge 2 ]
	! grep -q '^git bisect skip' "$BISECT_WORK/bisect-log"
}
