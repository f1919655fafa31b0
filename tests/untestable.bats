#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
#
# Real boots of the default kernel and the real image under QEMU TCG, broken on purpose:
# kernels that cannot be tested must end in 125 with a reason that names the missing piece
# and the fix, and crashes and hangs during a case must get the documented verdict. The
# crashes and hangs come from the guest init's self-test hook peeloff_inject=FAULT@ID.
#
# Uses $UNTESTABLE_KERNEL (default build/default-kernel/vmlinuz) and its config and modules
# from the same directory, and skips everything when they or the image are missing. A boot
# takes 4-10 s, the hang tests 12 s and 40 s.
# $UNTESTABLE_NO_NETLABEL_KERNEL may name a bzImage built without CONFIG_NETLABEL (and with
# IP_SCTP=y); its test is skipped otherwise.
# Not covered: SELinux that stays permissive after the init writes 1 to
# /sys/fs/selinux/enforce. Any kernel with SELinux accepts that write, because the
# setenforce check is made while the kernel is still permissive.

load helpers

setup_file()
{
	local repo

	repo=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
	export KERNEL=${UNTESTABLE_KERNEL:-$repo/build/default-kernel/vmlinuz}
	export KERNEL_DIR
	KERNEL_DIR=$(dirname "$KERNEL")
	export MODULES=$KERNEL_DIR/modules
	export IMAGE=$repo/build/initramfs.cpio
	export BARE_KERNEL=$BATS_FILE_TMPDIR/bare/bzImage
	[ -f "$KERNEL" ] || return 0
	# A copy without a config file next to it, so that only the guest can notice what the
	# kernel lacks.
	mkdir -p "$(dirname "$BARE_KERNEL")"
	cp "$KERNEL" "$BARE_KERNEL"
}

setup()
{
	REPO=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
	RUN=$REPO/run-qemu.sh
	[ -f "$KERNEL" ] || skip "no kernel at $KERNEL: run make kernel or set UNTESTABLE_KERNEL"
	[ -f "$IMAGE" ] || skip "no image at $IMAGE: run make image"
	command -v qemu-system-x86_64 >/dev/null ||
		skip "qemu-system-x86_64 not installed: install qemu-system-x86"
	export TMPDIR=$BATS_TEST_TMPDIR/tmp
	mkdir -p "$TMPDIR"
	OUT=$BATS_TEST_TMPDIR/out
	ARGS=(--accel tcg --output-dir "$OUT")
	MODULE_ARGS=()
	[ ! -d "$MODULES" ] || MODULE_ARGS=(--modules "$MODULES")
}

teardown()
{
	kill_leftover_qemu
}

# ---------------------------------------------------------------------------------------
# Helpers


# Check the end of a boot: the verdict file has status $1, no QEMU of this test runs, and
# the temporary directory is empty.
assert_clean_end()
{
	local left

	grep -q "^status=$1\$" "$OUT/verdict"
	left=$(pgrep -a -f -- "qemu-system-x86_64.*$BATS_TEST_TMPDIR" || true)
	if [ -n "$left" ]; then
		echo "QEMU still running: $left" >&2
		return 1
	fi
	left=$(ls -A "$TMPDIR")
	if [ -n "$left" ]; then
		echo "temporary files left in $TMPDIR: $left" >&2
		return 1
	fi
}

# Print the kernel release that run-qemu.sh reads from the bzImage header.
kernel_release()
{
	local ptr

	ptr=$(od -An -tu2 -j 526 -N 2 "$KERNEL" | tr -d ' \n')
	tail -c +$((ptr + 512 + 1)) "$KERNEL" | head -c 256 | tr '\0' '\n' | head -n 1 |
		cut -d ' ' -f 1
}

# Print the path of the kernel's config file, or skip the test.
kernel_config()
{
	local config

	config=$KERNEL_DIR/config-$(kernel_release)
	[ -f "$config" ] || config=$KERNEL_DIR/.config
	[ -f "$config" ] || skip "no config file next to $KERNEL"
	echo "$config"
}

# Write the image followed by a newc archive whose usr/lib/peeloff/policy is not a policy
# to $1. The kernel unpacks the archives in order, so the later policy file wins. An
# appended archive must start on a 4-byte boundary.
make_bad_policy_image()
{
	local root=$BATS_TEST_TMPDIR/policy-root size

	mkdir -p "$root/usr/lib/peeloff"
	head -c 4096 /dev/urandom >"$root/usr/lib/peeloff/policy"
	cp "$IMAGE" "$1"
	size=$(stat -c %s "$1")
	head -c $(((4 - size % 4) % 4)) /dev/zero >>"$1"
	(cd "$root" && echo usr/lib/peeloff/policy | cpio -o -H newc -R 0:0 --quiet) >>"$1"
}

# Write a copy of the image to $1 whose second cpio header has a broken magic number. The
# start and the trailer stay intact, so run-qemu.sh accepts it, but the kernel stops
# unpacking at that header.
make_unpackable_image()
{
	local offset

	cp "$IMAGE" "$1"
	offset=$(grep -a -b -o 070701 "$1" | sed -n '2s/:.*//p')
	[ -n "$offset" ]
	printf 'XXXXXX' | dd of="$1" bs=1 seek="$offset" conv=notrunc status=none
}

# ---------------------------------------------------------------------------------------
# Kernels that cannot be tested

@test "config without IP_SCTP gives 125 before booting" {
	local dir=$BATS_TEST_TMPDIR/kernel release config

	release=$(kernel_release)
	config=$(kernel_config)
	mkdir -p "$dir"
	cp "$KERNEL" "$dir/bzImage"
	sed 's/^CONFIG_IP_SCTP=.*/# CONFIG_IP_SCTP is not set/' "$config" >"$dir/config-$release"
	run "$RUN" "${ARGS[@]}" --kernel "$dir/bzImage"
	assert_status 125
	assert_line_has "cannot test: CONFIG_IP_SCTP is not set in $dir/config-$release (SCTP sockets are what the reproducer tests): build the kernel with CONFIG_IP_SCTP=y"
	[ ! -e "$OUT/console.log" ]
	grep -q '^reason=cannot test: CONFIG_IP_SCTP is not set' "$OUT/verdict"
	assert_clean_end 125
}

@test "IP_SCTP=m without modules gives 125 before booting" {
	local config

	config=$(kernel_config)
	grep -q '^CONFIG_IP_SCTP=m$' "$config" || skip "$config does not build SCTP as a module"
	run "$RUN" "${ARGS[@]}" --kernel "$KERNEL"
	assert_status 125
	assert_line_has "cannot test: CONFIG_IP_SCTP=m in $config but no --modules DIR was given"
	[ ! -e "$OUT/console.log" ]
	assert_clean_end 125
}

@test "kernel without SCTP: the guest bails out" {
	run "$RUN" "${ARGS[@]}" --kernel "$BARE_KERNEL"
	assert_status 125
	assert_line_has "no config file next to $BARE_KERNEL"
	assert_line_has "exit status: 125 (the guest bailed out: SCTP not available: no /proc/net/sctp and no modules for $(kernel_release) in the image; build the kernel with CONFIG_IP_SCTP=y, or pass its modules with run-qemu.sh --modules DIR)"
	assert_clean_end 125
}

@test "SELinux not active: lsm= without selinux" {
	run "$RUN" "${ARGS[@]}" --kernel "$KERNEL" "${MODULE_ARGS[@]}" \
		--append "lsm=lockdown,yama,apparmor"
	assert_status 125
	assert_line_has "exit status: 125 (the guest bailed out: SELinux not active: build the kernel with CONFIG_SECURITY_SELINUX=y and enable it"
	assert_clean_end 125
}

@test "policy rejected: garbage policy file" {
	make_bad_policy_image "$BATS_TEST_TMPDIR/image.cpio"
	run "$RUN" "${ARGS[@]}" --kernel "$KERNEL" "${MODULE_ARGS[@]}" \
		--image "$BATS_TEST_TMPDIR/image.cpio"
	assert_status 125
	assert_line_has "exit status: 125 (the guest bailed out: the kernel rejected the policy (SELinux:  policydb magic number"
	assert_line_has "rebuild it with make policy"
	assert_clean_end 125
}

@test "initramfs the kernel cannot unpack" {
	make_unpackable_image "$BATS_TEST_TMPDIR/image.cpio"
	run "$RUN" "${ARGS[@]}" --kernel "$KERNEL" "${MODULE_ARGS[@]}" \
		--image "$BATS_TEST_TMPDIR/image.cpio"
	assert_status 125
	assert_line_has "exit status: 125 (the kernel could not unpack the initramfs (Initramfs unpacking failed: "
	assert_line_has "): rebuild the image with make image, or pass a newc cpio archive with --image"
	assert_line_has "(no TAP output: the kernel crashed before the first case))"
	assert_clean_end 125
}

@test "no serial console output: 8250.nr_uarts=0" {
	run "$RUN" "${ARGS[@]}" --kernel "$KERNEL" "${MODULE_ARGS[@]}" \
		--append "8250.nr_uarts=0"
	assert_status 125
	assert_line_has "exit status: 125 (no serial console output (empty console log): build the kernel with CONFIG_SERIAL_8250_CONSOLE=y and boot it without 8250.nr_uarts=0"
	[ ! -s "$OUT/console.log" ]
	assert_clean_end 125
}

@test "IPv6 disabled: ipv6.disable=1" {
	run "$RUN" "${ARGS[@]}" --kernel "$KERNEL" "${MODULE_ARGS[@]}" \
		--append "ipv6.disable=1"
	assert_status 125
	assert_line_has "exit status: 125 (the guest bailed out: IPv6 not available: build the kernel with CONFIG_IPV6=y and boot it without ipv6.disable=1)"
	assert_clean_end 125
}

@test "kernel without NetLabel: the guest bails out" {
	local dir=$BATS_TEST_TMPDIR/kernel

	[ -n "${UNTESTABLE_NO_NETLABEL_KERNEL:-}" ] ||
		skip "set UNTESTABLE_NO_NETLABEL_KERNEL to a bzImage without CONFIG_NETLABEL"
	# Without its config file the kernel reaches the guest's own check.
	mkdir -p "$dir"
	cp "$UNTESTABLE_NO_NETLABEL_KERNEL" "$dir/bzImage"
	run "$RUN" "${ARGS[@]}" --kernel "$dir/bzImage"
	assert_status 125
	assert_line_has "exit status: 125 (the guest bailed out: NetLabel not available: build the kernel with CONFIG_NETLABEL=y)"
	assert_clean_end 125
}

@test "invalid peeloff_inject bails out" {
	run "$RUN" "${ARGS[@]}" --kernel "$KERNEL" "${MODULE_ARGS[@]}" \
		--append "peeloff_inject=panic@T9-99"
	assert_status 125
	assert_line_has "exit status: 125 (the guest bailed out: invalid peeloff_inject=panic@T9-99: no case has the id T9-99)"
	assert_clean_end 125
}

# ---------------------------------------------------------------------------------------
# Crashes and hangs during a case

@test "panic in a client-peeloff case gives 1" {
	run "$RUN" "${ARGS[@]}" --kernel "$KERNEL" "${MODULE_ARGS[@]}" \
		--append "peeloff_inject=panic@T1-06"
	assert_status 1
	assert_line_has "# inject: panic when case T1-06 starts"
	assert_line_has "interrupted: 6 cipso-tag1/client-peeloff/T1-06-stream-server-connect (started, did not end)"
	assert_line_has "crash: first signature at console line"
	assert_line_has "Kernel panic - not syncing: sysrq triggered crash"
	assert_line_has "exit status: 1 ("
	assert_line_has "the kernel crashed while a peeloff case ran)"
	assert_clean_end 1
}

@test "panic in a peeloff case, crash verdict untestable, gives 125" {
	run "$RUN" "${ARGS[@]}" --kernel "$KERNEL" "${MODULE_ARGS[@]}" \
		--append "peeloff_inject=panic@T1-06" --crash-verdict untestable
	assert_status 125
	assert_line_has "Kernel panic - not syncing: sysrq triggered crash"
	assert_line_has "the kernel crashed while a peeloff case ran (--crash-verdict untestable))"
	assert_clean_end 125
}

@test "panic in a control case gives 125" {
	# Only cipso-tag1 runs, so no case of another section, which may be a peeloff case,
	# runs at the time of the crash.
	run "$RUN" "${ARGS[@]}" --kernel "$KERNEL" "${MODULE_ARGS[@]}" \
		--append "peeloff_cases=^cipso-tag1/ peeloff_inject=panic@T1-03"
	assert_status 125
	assert_line_has "interrupted: 3 cipso-tag1/control/T1-03-stream-server-lower-level (started, did not end)"
	assert_line_has "Kernel panic - not syncing: sysrq triggered crash"
	assert_line_has "the kernel crashed while only control cases ran)"
	assert_clean_end 125
}

@test "hang in a peeloff case is stopped and gives 1" {
	local start=$SECONDS

	run "$RUN" "${ARGS[@]}" --kernel "$KERNEL" "${MODULE_ARGS[@]}" --timeout 40 \
		--append "peeloff_cases=^cipso-tag1/ peeloff_inject=hang@T1-06"
	assert_status 1
	assert_line_has "timeout: the guest ran for 40 s, stopping QEMU"
	assert_line_has "interrupted: 6 cipso-tag1/client-peeloff/T1-06-stream-server-connect (started, did not end)"
	assert_line_has "the guest hung and was stopped after 40 s while a peeloff case ran)"
	refute_line_has "crash:"
	[ $((SECONDS - start)) -lt 55 ]
	assert_clean_end 1
}

@test "timeout while results still print gives 125" {
	# T1-06 hangs, but the other sections go on printing until the timeout, so the guest
	# is not hung as a whole: the timeout is too short.
	run "$RUN" "${ARGS[@]}" --kernel "$KERNEL" "${MODULE_ARGS[@]}" --timeout 12 \
		--append "peeloff_inject=hang@T1-06"
	assert_status 125
	assert_line_has "the guest was stopped after 12 s while it still printed results"
	assert_line_has "pass a larger --timeout"
	refute_line_has "hung"
	assert_clean_end 125
}
