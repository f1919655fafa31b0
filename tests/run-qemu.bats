#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
#
# run-qemu.sh and tools/modules-cpio: option handling, input checks, the kernel config
# check, the --runs thresholds (with tests/fixtures/fake-qemu, which boots nothing), and
# real QEMU boots of a fake guest: a busybox initramfs built here whose /init
# (tests/fixtures/fake-init) prints canned TAP, then reboots, panics or hangs.
#
# Real boots use $RUN_QEMU_TEST_KERNEL (default build/default-kernel/vmlinuz) and
# $RUN_QEMU_TEST_MODULES (default build/default-kernel/modules) and are skipped when the
# kernel is absent. They always run under TCG. A fake-guest boot takes 3-5 s. One test
# boots the real image on the default kernel as user nobody (about 10 s); tests/boot.bats
# and tests/untestable.bats cover the real image otherwise.
# Not covered: the KVM probe (no working KVM host to test on).

load helpers

setup_file()
{
	local root=$BATS_FILE_TMPDIR/fake-root

	export FAKE_IMAGE=$BATS_FILE_TMPDIR/fake-guest.cpio
	[ -x /bin/busybox ] || return 0
	mkdir -p "$root/bin" "$root/usr/lib" "$root/dev" "$root/proc" "$root/sys"
	cp /bin/busybox "$root/bin/busybox"
	ln -s busybox "$root/bin/sh"
	ln -s usr/lib "$root/lib"
	ln -s bin "$root/sbin"
	cp "$BATS_TEST_DIRNAME/fixtures/fake-init" "$root/init"
	chmod 755 "$root/init"
	(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) >"$FAKE_IMAGE"
}

setup()
{
	REPO=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
	RUN=$REPO/run-qemu.sh
	FIXTURES=$REPO/tests/fixtures
	TEST_KERNEL=${RUN_QEMU_TEST_KERNEL:-$REPO/build/default-kernel/vmlinuz}
	TEST_MODULES=${RUN_QEMU_TEST_MODULES:-$REPO/build/default-kernel/modules}
	export TMPDIR=$BATS_TEST_TMPDIR/tmp
	mkdir -p "$TMPDIR"
	OUT=$BATS_TEST_TMPDIR/out
}

teardown()
{
	kill_leftover_qemu
}

# ---------------------------------------------------------------------------------------
# Helpers


# Write byte values (decimal) at OFFSET of FILE.
poke()
{
	local file=$1 offset=$2 byte

	shift 2
	for byte in "$@"; do
		# shellcheck disable=SC2059 # the format is the octal escape of the byte
		printf "\\$(printf '%03o' "$byte")"
	done | dd of="$file" bs=1 seek="$offset" conv=notrunc status=none
}

# Write the little-endian 32-bit number $3 at OFFSET $2 of FILE $1.
poke_u32()
{
	poke "$1" "$2" $(($3 & 255)) $((($3 >> 8) & 255)) $((($3 >> 16) & 255)) $(($3 >> 24))
}

# Write a file that passes the bzImage checks: 7 setup sectors, "HdrS" at 0x202, boot
# protocol 2.15 at 0x206, version pointer 0x0300 at 0x20E and the version string
# "$2 (...)" at 0x200 + 0x300, XLF_KERNEL_64 at 0x236. Optional $3 is the payload file,
# placed at 4096 with its offset and length at 0x248 and 0x24C.
make_fake_kernel()
{
	local size=0

	head -c 4096 /dev/zero >"$1"
	poke "$1" 497 7
	printf 'HdrS' | dd of="$1" bs=1 seek=514 conv=notrunc status=none
	poke "$1" 518 15 2
	poke "$1" 526 0 3
	poke "$1" 566 1 0
	printf '%s (fake@build) #1 SMP\000' "$2" | dd of="$1" bs=1 seek=1280 conv=notrunc status=none
	if [ -n "${3:-}" ]; then
		size=$(stat -c %s "$3")
		cat "$3" >>"$1"
	fi
	poke_u32 "$1" 588 "$size"
}

# Write a newc cpio archive with one file to $1.
make_fake_image()
{
	mkdir -p "$BATS_TEST_TMPDIR/image-root"
	echo "fake" >"$BATS_TEST_TMPDIR/image-root/init"
	(cd "$BATS_TEST_TMPDIR/image-root" && echo init | cpio -o -H newc -R 0:0 --quiet) >"$1"
}

# Create fake kernel and image files for the tests that stop before booting.
make_fake_inputs()
{
	FAKE_KERNEL=$BATS_TEST_TMPDIR/bzImage
	FAKE_CPIO=$BATS_TEST_TMPDIR/image.cpio
	make_fake_kernel "$FAKE_KERNEL" 6.1.0-fake
	make_fake_image "$FAKE_CPIO"
}

# Write a config file next to the fake kernel with the required options, minus $1.
write_config()
{
	local symbol

	for symbol in IP_SCTP SECURITY_SELINUX NETLABEL IPV6 SERIAL_8250_CONSOLE BLK_DEV_INITRD \
		DEVTMPFS BINFMT_ELF BINFMT_SCRIPT; do
		[ "$symbol" = "${1:-}" ] || echo "CONFIG_$symbol=y"
	done >"$BATS_TEST_TMPDIR/.config"
}

# Put tests/fixtures/fake-qemu first in PATH. The arguments are the outcomes of the boots.
use_fake_qemu()
{
	export PATH=$FIXTURES/fake-qemu:$PATH
	export FAKE_QEMU_PLAN=$BATS_TEST_TMPDIR/fake-qemu.plan
	export FAKE_QEMU_COUNT=$BATS_TEST_TMPDIR/fake-qemu.count
	export FAKE_QEMU_PIDS=$BATS_TEST_TMPDIR/fake-qemu.pids
	printf '%s\n' "$@" >"$FAKE_QEMU_PLAN"
}

# Fail when a fake QEMU process still runs.
assert_fake_qemu_gone()
{
	local pid

	[ -s "$FAKE_QEMU_PIDS" ]
	while read -r pid; do
		if kill -0 "$pid" 2>/dev/null; then
			echo "fake QEMU $pid still running" >&2
			return 1
		fi
	done <"$FAKE_QEMU_PIDS"
}

fake_boots()
{
	cat "$FAKE_QEMU_COUNT" 2>/dev/null || echo 0
}

require_boot()
{
	[ -f "$TEST_KERNEL" ] ||
		skip "no test kernel at $TEST_KERNEL: set RUN_QEMU_TEST_KERNEL to a bzImage"
	[ -s "$FAKE_IMAGE" ] || skip "no /bin/busybox to build the fake guest: install busybox-static"
	command -v qemu-system-x86_64 >/dev/null ||
		skip "qemu-system-x86_64 not installed: install qemu-system-x86"
	COMMON_ARGS=(--kernel "$TEST_KERNEL" --image "$FAKE_IMAGE" --accel tcg)
	if [ -d "$TEST_MODULES" ]; then
		COMMON_ARGS+=(--modules "$TEST_MODULES")
	fi
	BOOT_ARGS=("${COMMON_ARGS[@]}" --output-dir "$OUT")
}

require_modules()
{
	[ -d "$TEST_MODULES" ] ||
		skip "no modules at $TEST_MODULES: set RUN_QEMU_TEST_MODULES"
}

# Fail when a QEMU process of this test still runs.
assert_no_qemu()
{
	local left

	left=$(pgrep -a -f -- "qemu-system-x86_64.*$BATS_TEST_TMPDIR" || true)
	if [ -n "$left" ]; then
		echo "QEMU still running: $left" >&2
		return 1
	fi
}

assert_tmp_empty()
{
	local left

	left=$(ls -A "$TMPDIR")
	if [ -n "$left" ]; then
		echo "temporary files left in $TMPDIR: $left" >&2
		return 1
	fi
}

# Wait up to 30 s until file $1 contains $2.
wait_for_text()
{
	local tries=0

	until grep -q -- "$2" "$1" 2>/dev/null; do
		tries=$((tries + 1))
		[ "$tries" -lt 300 ] || return 1
		sleep 0.1
	done
}

# ---------------------------------------------------------------------------------------
# Options and input checks

@test "help exits 0 and documents options and statuses" {
	run "$RUN" --help
	assert_status 0
	for option in --kernel --modules --image --append --timeout --accel --memory \
		--output-dir --runs --crash-verdict --dry-run --verbose --help; do
		assert_line_has "$option"
	done
	for status in "  0    good" "  1    bad" "  125  cannot test" "  128  the tool failed" \
		"  129  invalid usage" "  130  interrupted"; do
		assert_line_has "$status"
	done
	assert_line_has "default:"
	assert_line_has "60 under TCG, 40 under KVM"
	assert_line_has "k >= max(1, ceil(N/3))"
}

@test "unknown option gives 129" {
	run "$RUN" --frobnicate
	assert_status 129
	assert_line_has "unknown option '--frobnicate'"
}

@test "invalid numbers give 129" {
	run "$RUN" --timeout 0
	assert_status 129
	assert_line_has "invalid --timeout '0'"
	run "$RUN" --runs=many
	assert_status 129
	assert_line_has "invalid --runs 'many'"
	run "$RUN" --memory 12
	assert_status 129
}

@test "invalid choices give 129" {
	run "$RUN" --accel xen
	assert_status 129
	assert_line_has "invalid --accel 'xen'"
	run "$RUN" --crash-verdict maybe
	assert_status 129
}

@test "option without value gives 129" {
	run "$RUN" --kernel
	assert_status 129
	assert_line_has "--kernel needs a value"
}

@test "missing kernel gives 128" {
	run "$RUN" --kernel "$BATS_TEST_TMPDIR/no-such-bzImage"
	assert_status 128
	assert_line_has "kernel $BATS_TEST_TMPDIR/no-such-bzImage not found"
}

@test "directory as kernel gives 128" {
	run "$RUN" --kernel "$BATS_TEST_TMPDIR"
	assert_status 128
	assert_line_has "kernel $BATS_TEST_TMPDIR is a directory: pass the bzImage file"
}

@test "empty kernel file gives 128" {
	: >"$BATS_TEST_TMPDIR/bzImage"
	run "$RUN" --kernel "$BATS_TEST_TMPDIR/bzImage"
	assert_status 128
	assert_line_has "is not an x86 bzImage (no HdrS magic at offset 0x202)"
}

@test "vmlinux ELF file as kernel gives 128" {
	local elf=$BATS_TEST_TMPDIR/vmlinux

	cp /bin/true "$elf"
	run "$RUN" --kernel "$elf"
	assert_status 128
	assert_line_has "kernel $elf is an ELF file (vmlinux?), not a bzImage: pass arch/x86/boot/bzImage"
}

@test "arm64 Image gives 128" {
	local image=$BATS_TEST_TMPDIR/Image

	# The arm64 boot header: branch instruction, text_offset, image_size, flags, then
	# the magic "ARM\x64" at 0x38.
	head -c 4096 /dev/zero >"$image"
	poke "$image" 0 77 90 0 145
	printf 'ARMd' | dd of="$image" bs=1 seek=56 conv=notrunc status=none
	run "$RUN" --kernel "$image"
	assert_status 128
	assert_line_has "kernel $image is an arm64 Image, not an x86 bzImage"
}

@test "32-bit bzImage gives 128" {
	make_fake_inputs
	poke "$FAKE_KERNEL" 566 0 0
	run "$RUN" --kernel "$FAKE_KERNEL" --image "$FAKE_CPIO"
	assert_status 128
	assert_line_has "is a 32-bit x86 kernel (no XLF_KERNEL_64 flag at 0x236)"
	assert_line_has "build it with CONFIG_64BIT=y"
}

@test "garbage image gives 128" {
	make_fake_inputs
	head -c 65536 /dev/urandom >"$FAKE_CPIO"
	run "$RUN" --kernel "$FAKE_KERNEL" --image "$FAKE_CPIO" --dry-run
	assert_status 128
	assert_line_has "image $FAKE_CPIO is not an uncompressed newc cpio archive (no 070701 magic at its start)"
}

@test "compressed image gives 128" {
	make_fake_inputs
	gzip -c "$FAKE_CPIO" >"$FAKE_CPIO.gz"
	run "$RUN" --kernel "$FAKE_KERNEL" --image "$FAKE_CPIO.gz" --dry-run
	assert_status 128
	assert_line_has "is not an uncompressed newc cpio archive"
}

@test "truncated image gives 128" {
	make_fake_inputs
	head -c 200 "$FAKE_CPIO" >"$FAKE_CPIO.part"
	run "$RUN" --kernel "$FAKE_KERNEL" --image "$FAKE_CPIO.part" --dry-run
	assert_status 128
	assert_line_has "image $FAKE_CPIO.part is truncated (no TRAILER!!! entry in its last 4 KiB): run make image"
}

@test "missing modules directory gives 128" {
	make_fake_inputs
	run "$RUN" --kernel "$FAKE_KERNEL" --image "$FAKE_CPIO" --modules "$BATS_TEST_TMPDIR/none"
	assert_status 128
	assert_line_has "modules directory $BATS_TEST_TMPDIR/none not found"
}

@test "default paths are looked up in the repository from any directory" {
	cd /
	run "$RUN" --dry-run --accel tcg
	if [ ! -e "$REPO/build/default-kernel/vmlinuz" ]; then
		assert_status 128
		assert_line_has "kernel $REPO/build/default-kernel/vmlinuz not found"
	elif [ ! -e "$REPO/build/initramfs.cpio" ]; then
		assert_status 128
		assert_line_has "image $REPO/build/initramfs.cpio not found: run make first"
	else
		assert_status 0
		assert_line_has "-kernel $REPO/build/default-kernel/vmlinuz "
	fi
}

@test "text file as kernel gives 128" {
	echo "this is not a kernel" >"$BATS_TEST_TMPDIR/vmlinuz"
	run "$RUN" --kernel "$BATS_TEST_TMPDIR/vmlinuz"
	assert_status 128
	assert_line_has "is not an x86 bzImage (no HdrS magic at offset 0x202)"
}

@test "truncated kernel gives 128" {
	[ -f "$TEST_KERNEL" ] || skip "no kernel at $TEST_KERNEL: run make kernel"
	head -c 1200000 "$TEST_KERNEL" >"$BATS_TEST_TMPDIR/bzImage"
	run "$RUN" --kernel "$BATS_TEST_TMPDIR/bzImage" --dry-run
	assert_status 128
	assert_line_has "is truncated: 1200000 bytes, but its header needs"
}

@test "unreadable kernel gives 128" {
	[ "$(id -u)" -eq 0 ] || skip "needs root to switch to user nobody"
	command -v setpriv >/dev/null || skip "setpriv not installed"
	local dir

	dir=$(mktemp -d /tmp/run-qemu-nobody.XXXXXX)
	chmod 755 "$dir"
	make_fake_kernel "$dir/bzImage" 6.1.0-fake
	chmod 600 "$dir/bzImage"
	run setpriv --reuid=nobody --regid=nogroup --clear-groups "$RUN" --kernel "$dir/bzImage"
	rm -rf "$dir"
	assert_status 128
	assert_line_has "kernel $dir/bzImage is not a readable file: check its permissions"
}

@test "missing image gives 128 and says run make" {
	make_fake_inputs
	run "$RUN" --kernel "$FAKE_KERNEL" --image "$BATS_TEST_TMPDIR/none.cpio"
	assert_status 128
	assert_line_has "image $BATS_TEST_TMPDIR/none.cpio not found: run make first"
}

@test "qemu missing from PATH gives 128 and names the package" {
	local bin=$BATS_TEST_TMPDIR/bin

	make_fake_inputs
	mkdir "$bin"
	# Names in both directories make ln complain, and the first link is kept.
	ln -s /usr/bin/* /usr/sbin/* "$bin/" 2>/dev/null || true
	rm -f "$bin"/qemu-system-*
	[ -x "$bin/bash" ]
	PATH=$bin run "$RUN" --kernel "$FAKE_KERNEL" --image "$FAKE_CPIO"
	assert_status 128
	assert_line_has "qemu-system-x86_64 not found in PATH: install the Debian package qemu-system-x86"
}

@test "dry run prints QEMU command without network" {
	make_fake_inputs
	run "$RUN" --kernel "$FAKE_KERNEL" --image "$FAKE_CPIO" --accel tcg --dry-run \
		--append "peeloff_cases=calipso" --output-dir "$OUT"
	assert_status 0
	assert_line_has "qemu-system-x86_64 -nodefaults -no-user-config -display none -no-reboot"
	assert_line_has " -nic none "
	assert_line_has " -monitor none "
	assert_line_has "-append 'console=ttyS0 rdinit=/init panic=-1 security=selinux peeloff_cases=calipso'"
	assert_line_has "-chardev file,id=console,path=$OUT/console.log -serial chardev:console"
	assert_line_has "-chardev file,id=results,path=$OUT/results.tap -serial chardev:results"
	refute_line_has "-netdev"
	refute_line_has "-net "
	refute_line_has "virtio-net"
	refute_line_has "e1000"
	refute_line_has "stdio"
	[ ! -e "$OUT" ]
}

@test "relative image path falls back to the repository" {
	[ -f "$REPO/build/initramfs.cpio" ] || skip "no build/initramfs.cpio: run make image"
	make_fake_inputs
	cd "$BATS_TEST_TMPDIR"
	run "$RUN" --kernel bzImage --image build/initramfs.cpio --accel tcg --dry-run
	assert_status 0
	assert_line_has "-kernel $BATS_TEST_TMPDIR/bzImage "
	assert_line_has "-initrd $REPO/build/initramfs.cpio "
}

@test "modules of another release give 128" {
	make_fake_inputs
	mkdir -p "$BATS_TEST_TMPDIR/mods/lib/modules/9.9.9-other"
	run "$RUN" --kernel "$FAKE_KERNEL" --image "$FAKE_CPIO" --modules "$BATS_TEST_TMPDIR/mods"
	assert_status 128
	assert_line_has "has modules for 9.9.9-other but the kernel is 6.1.0-fake"
}

@test "modules directory of another release gives 128" {
	make_fake_inputs
	mkdir -p "$BATS_TEST_TMPDIR/9.9.9-other/kernel"
	run "$RUN" --kernel "$FAKE_KERNEL" --image "$FAKE_CPIO" \
		--modules "$BATS_TEST_TMPDIR/9.9.9-other"
	assert_status 128
	assert_line_has "is for 9.9.9-other but the kernel is 6.1.0-fake"
}

@test "config without IP_SCTP gives 125 without booting" {
	make_fake_inputs
	write_config IP_SCTP
	use_fake_qemu ok
	run "$RUN" --kernel "$FAKE_KERNEL" --image "$FAKE_CPIO" --output-dir "$OUT"
	assert_status 125
	assert_line_has "cannot test: CONFIG_IP_SCTP is not set in $BATS_TEST_TMPDIR/.config (SCTP sockets"
	assert_line_has "build the kernel with CONFIG_IP_SCTP=y"
	[ "$(fake_boots)" -eq 0 ]
	grep -q '^status=125$' "$OUT/verdict"
	grep -q '^reason=cannot test: CONFIG_IP_SCTP is not set' "$OUT/verdict"
}

@test "config without NETLABEL gives 125" {
	make_fake_inputs
	write_config NETLABEL
	run "$RUN" --kernel "$FAKE_KERNEL" --image "$FAKE_CPIO" --output-dir "$OUT"
	assert_status 125
	assert_line_has "cannot test: CONFIG_NETLABEL is not set"
}

@test "IP_SCTP=m without modules gives 125 naming --modules" {
	make_fake_inputs
	write_config IP_SCTP
	echo "CONFIG_IP_SCTP=m" >>"$BATS_TEST_TMPDIR/.config"
	run "$RUN" --kernel "$FAKE_KERNEL" --image "$FAKE_CPIO" --output-dir "$OUT"
	assert_status 125
	assert_line_has "cannot test: CONFIG_IP_SCTP=m in $BATS_TEST_TMPDIR/.config but no --modules DIR was given"
	assert_line_has "pass --modules with this kernel's modules or build it with CONFIG_IP_SCTP=y"
}

@test "each required option is checked" {
	local symbol

	make_fake_inputs
	use_fake_qemu ok
	for symbol in IP_SCTP SECURITY_SELINUX NETLABEL IPV6 SERIAL_8250_CONSOLE BLK_DEV_INITRD \
		DEVTMPFS BINFMT_ELF BINFMT_SCRIPT; do
		write_config "$symbol"
		echo "# CONFIG_$symbol is not set" >>"$BATS_TEST_TMPDIR/.config"
		run "$RUN" --kernel "$FAKE_KERNEL" --image "$FAKE_CPIO" --output-dir "$OUT"
		assert_status 125
		assert_line_has "cannot test: CONFIG_$symbol is not set in $BATS_TEST_TMPDIR/.config ("
		assert_line_has "): build the kernel with CONFIG_$symbol=y"
	done
	[ "$(fake_boots)" -eq 0 ]
	[ ! -e "$OUT/console.log" ]
}

# Write a fake kernel whose payload, compressed with command $1, is a vmlinux stand-in
# with the config in $BATS_TEST_TMPDIR/embedded.config gzipped between the IKCONFIG markers.
make_ikconfig_kernel()
{
	local vmlinux=$BATS_TEST_TMPDIR/vmlinux

	{
		head -c 3000 /dev/zero
		printf 'IKCFG_ST'
		gzip -9 -c "$BATS_TEST_TMPDIR/embedded.config"
		printf 'IKCFG_ED'
		head -c 3000 /dev/zero
	} >"$vmlinux"
	"$1" -c "$vmlinux" >"$vmlinux.payload"
	make_fake_kernel "$FAKE_KERNEL" 6.1.0-fake "$vmlinux.payload"
}

@test "embedded config without NETLABEL gives 125" {
	local tool

	make_fake_inputs
	use_fake_qemu ok
	for tool in gzip xz zstd; do
		command -v "$tool" >/dev/null || continue
		write_config NETLABEL
		mv "$BATS_TEST_TMPDIR/.config" "$BATS_TEST_TMPDIR/embedded.config"
		make_ikconfig_kernel "$tool"
		run "$RUN" --kernel "$FAKE_KERNEL" --image "$FAKE_CPIO" --output-dir "$OUT"
		assert_status 125
		assert_line_has "checking required options in the config embedded in $FAKE_KERNEL"
		assert_line_has "cannot test: CONFIG_NETLABEL is not set in the config embedded in $FAKE_KERNEL"
	done
	[ "$(fake_boots)" -eq 0 ]
	assert_tmp_empty
}

@test "complete embedded config passes the check" {
	make_fake_inputs
	write_config
	mv "$BATS_TEST_TMPDIR/.config" "$BATS_TEST_TMPDIR/embedded.config"
	make_ikconfig_kernel gzip
	run "$RUN" --kernel "$FAKE_KERNEL" --image "$FAKE_CPIO" --accel tcg --dry-run
	assert_status 0
	assert_line_has "checking required options in the config embedded in $FAKE_KERNEL"
	refute_line_has "cannot test"
	assert_tmp_empty
}

@test "complete config passes the check" {
	make_fake_inputs
	write_config
	run "$RUN" --kernel "$FAKE_KERNEL" --image "$FAKE_CPIO" --accel tcg --dry-run
	assert_status 0
	assert_line_has "checking required options in $BATS_TEST_TMPDIR/.config"
	refute_line_has "cannot test"
}

@test "auto accelerator explains its choice" {
	make_fake_inputs
	run "$RUN" --kernel "$FAKE_KERNEL" --image "$FAKE_CPIO" --dry-run
	assert_status 0
	if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
		assert_line_has "accelerator tcg: no read/write access to /dev/kvm"
		assert_line_has "timeout 60 s per boot under tcg"
	elif ! grep -q -w -E 'vmx|svm' /proc/cpuinfo; then
		assert_line_has "accelerator tcg: /proc/cpuinfo shows no vmx or svm flag"
		assert_line_has "timeout 60 s per boot under tcg"
	else
		assert_line_has "accelerator kvm: /dev/kvm is usable"
		assert_line_has "timeout 40 s per boot under kvm"
	fi
}

# ---------------------------------------------------------------------------------------
# Several boots and QEMU failures, with the fake QEMU

@test "runs: one reproduction of 3 is bad and stops early" {
	make_fake_inputs
	use_fake_qemu fail ok ok
	run "$RUN" --kernel "$FAKE_KERNEL" --image "$FAKE_CPIO" --accel tcg --runs 3 --output-dir "$OUT"
	assert_status 1
	assert_line_has "stopped after 1 of 3 boots"
	assert_line_has "reproduced: 1 of 1 boots"
	[ "$(fake_boots)" -eq 1 ]
	grep -q '^status=1$' "$OUT/verdict"
	[ -f "$OUT/run-1/results.tap" ]
}

@test "runs: one reproduction of 5 is untestable" {
	make_fake_inputs
	use_fake_qemu fail ok ok ok ok
	run "$RUN" --kernel "$FAKE_KERNEL" --image "$FAKE_CPIO" --accel tcg --runs 5 --output-dir "$OUT"
	assert_status 125
	assert_line_has "reproduced: 1 of 5 boots"
	[ "$(fake_boots)" -eq 5 ]
}

@test "runs: two reproductions of 4 are bad" {
	make_fake_inputs
	use_fake_qemu fail ok fail ok
	run "$RUN" --kernel "$FAKE_KERNEL" --image "$FAKE_CPIO" --accel tcg --runs 4 --output-dir "$OUT"
	assert_status 1
	assert_line_has "reproduced: 2 of 3 boots"
	[ "$(fake_boots)" -eq 3 ]
}

@test "runs: all good is good" {
	make_fake_inputs
	use_fake_qemu ok ok ok
	run "$RUN" --kernel "$FAKE_KERNEL" --image "$FAKE_CPIO" --accel tcg --runs 3 --output-dir "$OUT"
	assert_status 0
	assert_line_has "reproduced: 0 of 3 boots"
}

@test "runs: one untestable boot of 3 is still good" {
	make_fake_inputs
	use_fake_qemu ok bail ok
	run "$RUN" --kernel "$FAKE_KERNEL" --image "$FAKE_CPIO" --accel tcg --runs 3 --output-dir "$OUT"
	assert_status 0
	assert_line_has "boot 2 of 3: status 125"
}

@test "runs: too many untestable boots give 125 early" {
	make_fake_inputs
	use_fake_qemu bail bail bail ok
	run "$RUN" --kernel "$FAKE_KERNEL" --image "$FAKE_CPIO" --accel tcg --runs 4 --output-dir "$OUT"
	assert_status 125
	assert_line_has "stopped after 3 of 4 boots"
	[ "$(fake_boots)" -eq 3 ]
}

@test "QEMU error gives 128 with its message" {
	make_fake_inputs
	use_fake_qemu error
	run "$RUN" --kernel "$FAKE_KERNEL" --image "$FAKE_CPIO" --accel tcg --output-dir "$OUT"
	assert_status 128
	assert_line_has "qemu-system-x86_64 failed with status 1: qemu-system-x86_64: -kernel: could not load the kernel image"
	assert_tmp_empty
}

@test "QEMU stopped by another process gives 130" {
	make_fake_inputs
	use_fake_qemu hang
	"$RUN" --kernel "$FAKE_KERNEL" --image "$FAKE_CPIO" --accel tcg --output-dir "$OUT" \
		>"$BATS_TEST_TMPDIR/log" 2>&1 &
	wait_for_text "$FAKE_QEMU_PIDS" "[0-9]"
	kill -TERM "$(cat "$FAKE_QEMU_PIDS")"
	status=0
	wait "$!" || status=$?
	output=$(cat "$BATS_TEST_TMPDIR/log")
	assert_status 130
	assert_line_has "QEMU stopped early, terminating on signal 15"
	assert_tmp_empty
}

@test "timeout stops a QEMU that never exits" {
	make_fake_inputs
	use_fake_qemu hang
	run "$RUN" --kernel "$FAKE_KERNEL" --image "$FAKE_CPIO" --accel tcg --timeout 2 --output-dir "$OUT"
	assert_status 125
	assert_line_has "timeout: the guest ran for 2 s, stopping QEMU"
	assert_line_has "the guest hung and was stopped after 2 s before the first case"
	assert_fake_qemu_gone
	assert_tmp_empty
}

# ---------------------------------------------------------------------------------------
# tools/modules-cpio

@test "modules archive holds the sctp closure under usr/lib" {
	local kver list

	require_modules
	kver=$(find "$TEST_MODULES" -path '*/modules/*/modules.dep' | head -n 1 | xargs dirname)
	run "$REPO/tools/modules-cpio" --kver "$(basename "$kver")" --modules "$kver" \
		--output "$BATS_TEST_TMPDIR/m.cpio"
	assert_status 0
	list=$(cpio -it --quiet <"$BATS_TEST_TMPDIR/m.cpio")
	[[ "$list" == *"/kernel/net/sctp/sctp.ko"* ]]
	[[ "$list" == *"/modules.dep"* ]]
	# shellcheck disable=SC2143 # a bare "! grep" would not fail a bats test
	[ -z "$(grep -v '^usr' <<<"$list")" ]
	if grep -q '^kernel/lib/libcrc32c.ko' "$kver/modules.dep"; then
		[[ "$list" == *"/libcrc32c.ko"* ]]
		[[ "$list" == *"/udp_tunnel.ko"* ]]
		[[ "$list" == *"/ip6_udp_tunnel.ko"* ]]
	fi
	if grep -q '^alias crc32c crc32c_intel' "$kver/modules.alias"; then
		[[ "$list" == *"/crc32c-intel.ko"* ]]
	fi
}

@test "modules archive is built without modules.dep" {
	local kver copy

	require_modules
	kver=$(find "$TEST_MODULES" -path '*/modules/*/modules.dep' | head -n 1 | xargs dirname)
	copy=$BATS_TEST_TMPDIR/$(basename "$kver")
	cp -r "$kver" "$copy"
	rm "$copy"/modules.dep "$copy"/modules.dep.bin
	run "$REPO/tools/modules-cpio" --kver "$(basename "$kver")" --modules "$copy" \
		--output "$BATS_TEST_TMPDIR/m.cpio"
	assert_status 0
	assert_line_has "has no modules.dep, running depmod on a temporary copy"
	cpio -it --quiet <"$BATS_TEST_TMPDIR/m.cpio" | grep -q '/kernel/net/sctp/sctp.ko$'
	[ ! -e "$copy/modules.dep" ]
}

@test "modules archive fails on a missing module" {
	local kver

	require_modules
	kver=$(find "$TEST_MODULES" -path '*/modules/*/modules.dep' | head -n 1 | xargs dirname)
	run "$REPO/tools/modules-cpio" --kver "$(basename "$kver")" --modules "$kver" \
		--output "$BATS_TEST_TMPDIR/m.cpio" no_such_module
	assert_status 1
	assert_line_has "module not found in $kver: no_such_module"
}

# ---------------------------------------------------------------------------------------
# Real boots of the fake guest

@test "boot: all ok gives 0, keeps logs, has no network" {
	require_boot
	run_boot "$RUN" "${BOOT_ARGS[@]}" --append fake_guest=ok
	assert_status 0
	assert_line_has "ok 3 cipso-tag1/server-peeloff/peeloff-server.connect"
	assert_line_has "accelerator: tcg"
	assert_line_has "exit status: 0 (3 of 3 cases passed)"
	assert_line_has "console: $OUT/console.log"
	grep -q '^status=0$' "$OUT/verdict"
	grep -q 'Run /init as init process' "$OUT/console.log"
	grep -q '^ok 1 ' "$OUT/results.tap"
	tr -d '\r' <"$OUT/results.tap" | grep -q -x '# netdevs: lo'
	assert_no_qemu
	assert_tmp_empty
}

@test "boot: peeloff failure gives 1" {
	require_boot
	run_boot "$RUN" "${BOOT_ARGS[@]}" --append fake_guest=peeloff-fail
	assert_status 1
	assert_line_has "failed: not ok 2 cipso-tag1/client-peeloff/stream-server.connect"
	assert_line_has "# oracle peer: FAIL"
}

@test "boot: panic during peeloff case gives 1" {
	require_boot
	run_boot "$RUN" "${BOOT_ARGS[@]}" --append fake_guest=panic-peeloff
	assert_status 1
	assert_line_has "Kernel panic - not syncing: sysrq triggered crash"
	assert_line_has "the kernel crashed while a peeloff case ran"
	assert_no_qemu
}

@test "boot: panic during peeloff case, crash verdict untestable, gives 125" {
	require_boot
	run "$RUN" "${BOOT_ARGS[@]}" --append fake_guest=panic-peeloff --crash-verdict untestable
	assert_status 125
	assert_line_has "(--crash-verdict untestable)"
}

@test "boot: panic during control case gives 125" {
	require_boot
	run "$RUN" "${BOOT_ARGS[@]}" --append fake_guest=panic-control
	assert_status 125
	assert_line_has "the kernel crashed while only control cases ran"
}

@test "boot: timeout kills a hung guest" {
	local start

	require_boot
	start=$SECONDS
	run "$RUN" "${BOOT_ARGS[@]}" --append fake_guest=hang-peeloff --timeout 10
	assert_status 1
	assert_line_has "timeout: the guest ran for 10 s, stopping QEMU"
	assert_line_has "the guest hung and was stopped after 10 s while a peeloff case ran"
	[ $((SECONDS - start)) -lt 20 ]
	assert_no_qemu
	assert_tmp_empty
}

@test "boot: SIGTERM stops QEMU and removes temporary files" {
	local pid

	require_boot
	"$RUN" "${BOOT_ARGS[@]}" --append fake_guest=hang-peeloff --timeout 60 \
		>"$BATS_TEST_TMPDIR/log" 2>&1 &
	pid=$!
	wait_for_text "$OUT/results.tap" "# start 2 "
	[ -n "$(ls -A "$TMPDIR")" ]
	kill -TERM "$pid"
	status=0
	wait "$pid" || status=$?
	output=$(cat "$BATS_TEST_TMPDIR/log")
	assert_status 130
	assert_line_has "interrupted by SIGTERM"
	assert_no_qemu
	assert_tmp_empty
}

@test "boot: Ctrl-C on the process group stops QEMU" {
	local pid

	require_boot
	# A job started with & ignores SIGINT and could not trap it: perl restores the default,
	# as for a command typed at a terminal.
	# shellcheck disable=SC2016 # the single-quoted text is perl code
	setsid perl -e '$SIG{INT} = "DEFAULT"; exec @ARGV or die "exec: $!"' \
		"$RUN" "${BOOT_ARGS[@]}" --append fake_guest=hang-peeloff --timeout 60 \
		>"$BATS_TEST_TMPDIR/log" 2>&1 &
	pid=$!
	wait_for_text "$OUT/results.tap" "# start 2 "
	kill -INT -- "-$pid"
	status=0
	wait "$pid" || status=$?
	output=$(cat "$BATS_TEST_TMPDIR/log")
	assert_status 130
	assert_line_has "interrupted by SIGINT"
	assert_no_qemu
	assert_tmp_empty
}

@test "boot: sctp loads from the appended modules archive" {
	require_boot
	require_modules
	run_boot "$RUN" "${BOOT_ARGS[@]}" --append fake_guest=modules
	assert_status 0
	assert_line_has "ok 1 unlabeled/client-peeloff/sctp-module"
}

@test "boot: two runs at once use separate output and temporary files" {
	local copy=$BATS_TEST_TMPDIR/repo pid1 pid2 status1=0 status2=0 dirs

	require_boot
	mkdir -p "$copy/tools"
	cp "$RUN" "$copy/"
	cp "$REPO"/tools/* "$copy/tools/"
	"$copy/run-qemu.sh" "${COMMON_ARGS[@]}" --append fake_guest=ok \
		>"$BATS_TEST_TMPDIR/log1" 2>&1 &
	pid1=$!
	"$copy/run-qemu.sh" "${COMMON_ARGS[@]}" --append fake_guest=peeloff-fail \
		>"$BATS_TEST_TMPDIR/log2" 2>&1 &
	pid2=$!
	wait "$pid1" || status1=$?
	wait "$pid2" || status2=$?
	[ "$status1" -eq 0 ]
	[ "$status2" -eq 1 ]
	dirs=$(find "$copy/results" -mindepth 1 -maxdepth 1 -type d | wc -l)
	[ "$dirs" -eq 2 ]
	[ "$(grep -l '^status=0$' "$copy"/results/*/verdict | wc -l)" -eq 1 ]
	[ "$(grep -l '^status=1$' "$copy"/results/*/verdict | wc -l)" -eq 1 ]
	assert_tmp_empty
}

@test "boot: runs twice and reports the rate" {
	require_boot
	run_boot "$RUN" "${BOOT_ARGS[@]}" --append fake_guest=ok --runs 2
	assert_status 0
	assert_line_has "boot 2 of 2: status 0"
	assert_line_has "reproduced: 0 of 2 boots"
	grep -q '^status=0$' "$OUT/run-1/verdict"
	grep -q '^status=0$' "$OUT/run-2/verdict"
	grep -q '^status=0$' "$OUT/verdict"
}

@test "boot: works without root" {
	local dir

	require_boot
	[ "$(id -u)" -eq 0 ] || skip "already running without root"
	command -v setpriv >/dev/null || skip "setpriv not installed"
	dir=$(mktemp -d /tmp/run-qemu-nobody.XXXXXX)
	chmod 755 "$dir"
	cp "$FAKE_IMAGE" "$dir/image.cpio"
	mkdir "$dir/tmp" "$dir/out"
	chmod 777 "$dir/tmp" "$dir/out"
	chmod 644 "$dir/image.cpio"
	run setpriv --reuid=nobody --regid=nogroup --clear-groups env TMPDIR="$dir/tmp" \
		"$RUN" "${BOOT_ARGS[@]}" --image "$dir/image.cpio" --output-dir "$dir/out" \
		--accel auto --append fake_guest=ok
	rm -rf "$dir"
	assert_status 0
	assert_line_has "accelerator tcg: no read/write access to /dev/kvm"
}

@test "boot: real image without root sees only loopback" {
	local dir left

	[ -f "$REPO/build/default-kernel/vmlinuz" ] || skip "no default kernel: run make kernel"
	[ -f "$REPO/build/initramfs.cpio" ] || skip "no image: run make image"
	[ "$(id -u)" -eq 0 ] || skip "already running without root"
	command -v setpriv >/dev/null || skip "setpriv not installed"
	dir=$(mktemp -d /tmp/run-qemu-nobody.XXXXXX)
	chmod 755 "$dir"
	mkdir "$dir/tmp" "$dir/out"
	chmod 777 "$dir/tmp" "$dir/out"
	# Two cases run and the others are left out, which does not count.
	run setpriv --reuid=nobody --regid=nogroup --clear-groups env TMPDIR="$dir/tmp" \
		"$RUN" --accel tcg --output-dir "$dir/out" \
		--append "peeloff_cases=^unlabeled/(control/UL-01|client-peeloff/UL-02)-"
	cp "$dir/out/results.tap" "$BATS_TEST_TMPDIR/results.tap" || true
	left=$(ls -A "$dir/tmp")
	rm -rf "$dir"
	assert_status 0
	[[ "$output" =~ "ok "[0-9]+" unlabeled/control/UL-01-" ]]
	# Every case left out has its result line, also the ones the guest wrote at once.
	[[ "$output" =~ " failed=0 skipped=0 missing=0" ]]
	assert_line_has "2 of 2 selected cases passed, 94 not selected by peeloff_cases"
	tr -d '\r' <"$BATS_TEST_TMPDIR/results.tap" | grep -q -x '# network interfaces: lo'
	[ -z "$left" ]
}
