#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Boot a kernel with the reproducer initramfs under QEMU and turn the TAP results into a
# git-bisect exit status: 0 good, 1 bad, 125 cannot test, 128 tool failure, 129 usage,
# 130 interrupted. Works by hand and as `git bisect run /path/to/run-qemu.sh --kernel ...`.
# The guest has no network device. The console goes to console.log and the results port
# (second serial port) to results.tap in the output directory. tools/parse-results decides
# the verdict of each boot, and usage() lists the options and the exit status table.

set -eEu

readonly PROG=run-qemu.sh
REPO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly REPO_DIR
readonly TOOLS_DIR=$REPO_DIR/tools
readonly DEFAULT_KERNEL=build/default-kernel/vmlinuz
readonly DEFAULT_MODULES=build/default-kernel/modules
readonly DEFAULT_IMAGE=build/initramfs.cpio
# Default wall clock limit of one boot per accelerator. Under TCG the boot and the matrix
# take 10-20 s (measured with bench/flake.sh); the KVM limit is an estimate. A timeout
# counts as a hang only after the results port stayed quiet for the guest's case limit
# (27 s with the default step timeouts), so each limit leaves room for that.
readonly DEFAULT_TIMEOUT_TCG=60
readonly DEFAULT_TIMEOUT_KVM=40
readonly DEFAULT_MEMORY=1024
readonly QEMU_BIN=qemu-system-x86_64
readonly KVM_PROBE_SECONDS=3
readonly KILL_GRACE_SECONDS=5
readonly BASE_APPEND="console=ttyS0 rdinit=/init panic=-1 security=selinux"

readonly EXIT_GOOD=0
readonly EXIT_BAD=1
readonly EXIT_UNTESTABLE=125
readonly EXIT_TOOL=128
readonly EXIT_USAGE=129
readonly EXIT_INTERRUPTED=130

# Accelerator set by choose_accel. The verdict file records "none" when it is unset.
accel=""

# Processes and the temporary directory that cleanup() removes, empty when not running.
qemu_pid=""
timer_pid=""
stream_pids=()
tmp_dir=""

usage()
{
	cat <<EOF
Usage: $PROG [OPTION]...

Boot KERNEL with the reproducer initramfs under QEMU, stream the TAP results and exit
with a git-bisect status. Relative paths are looked up in the current directory first,
then in the repository ($REPO_DIR).

Options:
  --kernel PATH         x86 bzImage to boot (default: $DEFAULT_KERNEL)
  --modules DIR         modules of that kernel: a lib/modules/<kver> directory, or a root
                        that contains lib/modules/<kver> or usr/lib/modules/<kver>; sctp.ko,
                        its dependencies and softdeps are appended to the initramfs
                        (default: $DEFAULT_MODULES with the default kernel,
                        none otherwise)
  --image PATH          uncompressed newc initramfs (default: $DEFAULT_IMAGE)
  --append ARGS         extra kernel command line arguments, after
                        "$BASE_APPEND"
                        (e.g. peeloff_cases=REGEX, peeloff_timeout=SECONDS)
  --timeout SECONDS     wall clock limit of one boot, then QEMU is killed (default:
                        $DEFAULT_TIMEOUT_TCG under TCG, $DEFAULT_TIMEOUT_KVM under KVM). The boot and the matrix take
                        10-20 s under TCG; raise it for kernels with KASAN, lockdep or
                        other slow debugging options
  --accel auto|kvm|tcg  accelerator (default: auto: kvm only when /dev/kvm is usable,
                        the CPU has vmx or svm, and a $KVM_PROBE_SECONDS s KVM probe reaches
                        the firmware's boot menu; tcg otherwise)
  --memory MB           guest memory (default: $DEFAULT_MEMORY, or twice the initrd size plus
                        512 when that is larger)
  --output-dir DIR      where console.log, results.tap, qemu.log, summary and verdict
                        (key=value lines, then the summary) are written (default:
                        results/<date>-<time>-<pid> in the repository); with
                        --runs N > 1 each boot gets DIR/run-<i>/
  --runs N              boot N times and decide by the thresholds below (default: 1)
  --crash-verdict V     verdict of one boot when the kernel crashed or hung while a
                        peeloff case ran: bad (default) or untestable
  --dry-run             check the inputs, print the QEMU command line and exit 0
  -v, --verbose         also stream the guest console (prefixed "console: ")
  -h, --help            show this help

Exit status:
  0    good: every planned case passed (with --runs: see below)
  1    bad: a client-peeloff or server-peeloff case failed the way a labeling bug
       fails (an oracle failed, an SELinux denial, the peeloff or the send on the
       peeled-off socket failed) while no control case failed, or the kernel
       crashed or hung while a peeloff case ran. Hung means
       that the timeout expired after the results port had been quiet for at least
       the "# case limit" that the guest prints (27 s with the default step timeouts)
  125  cannot test this kernel: a required CONFIG_ option is off in the kernel's config
       file (next to it or embedded with CONFIG_IKCONFIG), no TAP output (no boot, no
       serial console, initramfs not unpacked, crash or hang before the first case),
       no plan, "Bail out!" (no SCTP, SELinux not active or not enforcing, policy
       rejected, no IPv6, no NetLabel), a control case failed, a peeloff case failed
       with only a timeout or a setup error, a case was skipped, peeloff_cases selected
       no peeloff case, inconsistent results, the timeout expired while the guest
       still printed results
  128  the tool failed: kernel missing or unreadable, not an x86-64 bzImage (an ELF
       vmlinux, an arm64 Image, a 32-bit kernel), modules of another kernel release,
       image missing, not an uncompressed newc cpio archive or truncated, QEMU or
       depmod missing, QEMU failed, no writable temporary or output directory, the
       output directory in use by another run, any unexpected command failure
  129  invalid usage: unknown option, missing or invalid value
  130  interrupted by SIGINT, SIGTERM or SIGHUP, or QEMU was stopped by a signal
       from another process; QEMU is stopped and temporary files are removed.
       After SIGKILL of this script QEMU still stops (parent-death signal), but the
       temporary directory stays behind

With --runs N, k boots reproduced the bug (status 1) and g boots were good (status 0):
  bad  when k >= max(1, ceil(N/3))
  good when k = 0 and g >= ceil(2N/3)
  125  otherwise (the bug reproduced too rarely to call it, or too many boots were
       untestable). Booting stops early once more boots cannot change the result.
A wrong good or bad misleads git bisect, while 125 only makes it test a nearby commit.
So one stray failure among many boots does not mark a commit bad, and a kernel whose
boots are often untestable is not called good.
EOF
}

log()
{
	echo "$PROG: $*" >&2
}

die()
{
	echo "$PROG: $1" >&2
	exit "${2:-$EXIT_TOOL}"
}

usage_error()
{
	die "$1 (see $PROG --help)" "$EXIT_USAGE"
}

# ---------------------------------------------------------------------------------------
# Options

parse_args()
{
	kernel_arg=""
	modules_arg=""
	image_arg=""
	extra_append=""
	timeout=""
	accel_request=auto
	memory=""
	output_arg=""
	runs=1
	crash_verdict=bad
	dry_run=0
	verbose=0
	while [ $# -gt 0 ]; do
		local opt=$1 value=""
		case "$opt" in
		--*=*)
			value=${opt#*=}
			opt=${opt%%=*}
			set -- "$opt" "$value" "${@:2}"
			;;
		esac
		case "$opt" in
		-h | --help)
			usage
			exit "$EXIT_GOOD"
			;;
		-v | --verbose) verbose=1 ;;
		--dry-run) dry_run=1 ;;
		--kernel | --modules | --image | --append | --timeout | --accel | --memory | \
			--output-dir | --runs | --crash-verdict)
			[ $# -ge 2 ] || usage_error "$opt needs a value"
			[ -n "$2" ] || [ "$opt" = --append ] || usage_error "$opt needs a non-empty value"
			set_option "$opt" "$2"
			shift
			;;
		*) usage_error "unknown option '$opt'" ;;
		esac
		shift
	done
}

set_option()
{
	case "$1" in
	--kernel) kernel_arg=$2 ;;
	--modules) modules_arg=$2 ;;
	--image) image_arg=$2 ;;
	--append) extra_append="${extra_append:+$extra_append }$2" ;;
	--timeout)
		check_number "$1" "$2" 1 86400
		timeout=$((10#$2))
		;;
	--memory)
		check_number "$1" "$2" 128 1048576
		memory=$((10#$2))
		;;
	--runs)
		check_number "$1" "$2" 1 100
		runs=$((10#$2))
		;;
	--output-dir) output_arg=$2 ;;
	--accel)
		case "$2" in
		auto | kvm | tcg) accel_request=$2 ;;
		*) usage_error "invalid --accel '$2': use auto, kvm or tcg" ;;
		esac
		;;
	--crash-verdict)
		case "$2" in
		bad | untestable) crash_verdict=$2 ;;
		*) usage_error "invalid --crash-verdict '$2': use bad or untestable" ;;
		esac
		;;
	esac
}

# Exit with a usage error unless the value of option $1 is a whole number in [$3, $4].
check_number()
{
	local opt=$1 value=$2 min=$3 max=$4

	if [[ ! "$value" =~ ^[0-9]{1,9}$ ]] || ((10#$value < min || 10#$value > max)); then
		usage_error "invalid $opt '$value': use a whole number from $min to $max"
	fi
}

# Print the absolute path for PATH: as given when absolute, else from the current
# directory when it exists there, else from the repository.
resolve_path()
{
	case "$1" in
	/*) echo "$1" ;;
	*)
		if [ -e "$1" ] || [ ! -e "$REPO_DIR/$1" ]; then
			echo "$PWD/$1"
		else
			echo "$REPO_DIR/$1"
		fi
		;;
	esac
}

# ---------------------------------------------------------------------------------------
# Inputs

# Print 4 bytes of FILE at OFFSET as lower-case hex without spaces.
read_hex()
{
	od -An -tx1 -j "$2" -N 4 "$1" | tr -d ' \n'
}

# Print the little-endian 16-bit number in FILE at OFFSET, in decimal.
read_u16()
{
	od -An -tu2 -j "$2" -N 2 "$1" | tr -d ' \n'
}

# Check that $kernel is a readable x86-64 bzImage and set kernel_release from its header.
# The boot protocol (Documentation/x86/boot.rst in Linux 6.1) puts "HdrS" at 0x202, the
# protocol version at 0x206 and a 16-bit pointer (relative to 0x200) to the version string
# at 0x20E. From version 2.12 on, the flags at 0x236 have XLF_KERNEL_64 (bit 0) set in a
# 64-bit kernel.
check_kernel()
{
	local ptr

	if [ ! -e "$kernel" ] && [ -z "$kernel_arg" ]; then
		die "kernel $kernel not found: run make first (it provides the default kernel) or pass --kernel PATH"
	fi
	[ -e "$kernel" ] || die "kernel $kernel not found: check the --kernel path"
	[ ! -d "$kernel" ] || die "kernel $kernel is a directory: pass the bzImage file (arch/x86/boot/bzImage)"
	if [ ! -f "$kernel" ] || [ ! -r "$kernel" ]; then
		die "kernel $kernel is not a readable file: check its permissions"
	fi
	check_kernel_format
	ptr=$(read_u16 "$kernel" 526)
	kernel_release=""
	if [ -n "$ptr" ] && [ "$ptr" -gt 0 ]; then
		kernel_release=$(tail -c +$((ptr + 512 + 1)) "$kernel" | head -c 256 |
			tr '\0' '\n' | head -n 1 | cut -d ' ' -f 1)
	fi
	if [[ ! "$kernel_release" =~ ^[A-Za-z0-9._+~-]+$ ]]; then
		die "kernel $kernel has no readable version string (pointer at 0x20E): rebuild it or pass another --kernel"
	fi
}

# Exit with EXIT_TOOL when $kernel is shorter than the size its header gives. The setup sectors
# (0x1f1, 0 meaning 4) and the 16-byte paragraphs of the protected-mode code (0x1f4) give
# the least size of a whole bzImage. Signed kernels carry more bytes after it.
check_kernel_size()
{
	local setup_sects syssize expected size

	setup_sects=$(od -An -tu1 -j 497 -N 1 "$kernel" | tr -d ' \n')
	[ "$setup_sects" != 0 ] || setup_sects=4
	syssize=$(od -An -tu4 -j 500 -N 4 "$kernel" | tr -d ' \n')
	expected=$(((setup_sects + 1) * 512 + syssize * 16))
	size=$(stat -c %s "$kernel")
	[ "$size" -ge "$expected" ] ||
		die "kernel $kernel is truncated: $size bytes, but its header needs $expected: copy or rebuild it"
}

# Exit with EXIT_TOOL unless $kernel is an x86 bzImage of a 64-bit kernel.
check_kernel_format()
{
	local version flags

	if [ "$(read_hex "$kernel" 0)" = 7f454c46 ]; then
		die "kernel $kernel is an ELF file (vmlinux?), not a bzImage: pass arch/x86/boot/bzImage"
	fi
	if [ "$(read_hex "$kernel" 56)" = 41524d64 ]; then
		die "kernel $kernel is an arm64 Image, not an x86 bzImage: pass arch/x86/boot/bzImage of an x86-64 build"
	fi
	if [ "$(read_hex "$kernel" 514)" != 48647253 ]; then
		die "kernel $kernel is not an x86 bzImage (no HdrS magic at offset 0x202): pass arch/x86/boot/bzImage of an x86-64 build"
	fi
	check_kernel_size
	version=$(read_u16 "$kernel" 518)
	[ "$version" -ge $((0x020c)) ] || return 0
	flags=$(read_u16 "$kernel" 566)
	if (((flags & 1) == 0)); then
		die "kernel $kernel is a 32-bit x86 kernel (no XLF_KERNEL_64 flag at 0x236), but the guest's programs are x86-64: build it with CONFIG_64BIT=y"
	fi
}

# Exit with EXIT_TOOL unless $image looks like a complete uncompressed newc cpio archive:
# the newc magic at the start and the archive trailer near the end.
check_image()
{
	[ -e "$image" ] || die "image $image not found: run make first (or pass --image PATH)"
	if [ ! -f "$image" ] || [ ! -r "$image" ]; then
		die "image $image is not a readable file: check its permissions"
	fi
	case "$(head -c 6 "$image")" in
	070701 | 070702) ;;
	*) die "image $image is not an uncompressed newc cpio archive (no 070701 magic at its start): run make image or pass build/initramfs.cpio" ;;
	esac
	if ! tail -c 4096 "$image" | grep -a -q 'TRAILER!!!'; then
		die "image $image is truncated (no TRAILER!!! entry in its last 4 KiB): run make image"
	fi
}

find_qemu()
{
	qemu=$(command -v "$QEMU_BIN" || true)
	[ -n "$qemu" ] || die "$QEMU_BIN not found in PATH: install the Debian package qemu-system-x86"
}

# Set modules_dir to the lib/modules/<kver> directory for $kernel_release inside $1.
find_modules_dir()
{
	local dir=$1 found candidate

	[ -d "$dir" ] || die "modules directory $dir not found: pass --modules DIR of this kernel"
	for candidate in "lib/modules/$kernel_release" "usr/lib/modules/$kernel_release"; do
		if [ -d "$dir/$candidate" ]; then
			modules_dir=$dir/$candidate
			return
		fi
	done
	if [ -e "$dir/modules.order" ] || [ -e "$dir/modules.dep" ] || [ -d "$dir/kernel" ]; then
		if [ "$(basename "$dir")" != "$kernel_release" ]; then
			die "modules directory $dir is for $(basename "$dir") but the kernel is $kernel_release: pass the modules built with this kernel"
		fi
		modules_dir=$dir
		return
	fi
	found=""
	for candidate in "$dir"/lib/modules/* "$dir"/usr/lib/modules/*; do
		[ ! -d "$candidate" ] || found="$found $(basename "$candidate")"
	done
	if [ -n "$found" ]; then
		die "modules directory $dir has modules for${found} but the kernel is $kernel_release: pass the modules built with this kernel"
	fi
	die "modules directory $dir has no lib/modules/$kernel_release: pass the modules built with this kernel"
}

resolve_inputs()
{
	local modules_path=""

	if [ -n "$kernel_arg" ]; then
		kernel=$(resolve_path "$kernel_arg")
		[ -z "$modules_arg" ] || modules_path=$(resolve_path "$modules_arg")
	else
		kernel=$REPO_DIR/$DEFAULT_KERNEL
		if [ -n "$modules_arg" ]; then
			modules_path=$(resolve_path "$modules_arg")
		elif [ -d "$REPO_DIR/$DEFAULT_MODULES" ]; then
			modules_path=$REPO_DIR/$DEFAULT_MODULES
		fi
	fi
	if [ -n "$image_arg" ]; then
		image=$(resolve_path "$image_arg")
	else
		image=$REPO_DIR/$DEFAULT_IMAGE
	fi

	check_kernel
	modules_dir=""
	[ -z "$modules_path" ] || find_modules_dir "$modules_path"
	check_image
	find_qemu
}

# ---------------------------------------------------------------------------------------
# Kernel configuration

# Print the first config file found next to the kernel or its modules, if any.
find_kernel_config()
{
	local kdir candidates

	kdir=$(dirname "$kernel")
	candidates=("$kdir/.config" "$kdir/config-$kernel_release" "$kdir/config"
		"$kdir/../boot/config-$kernel_release")
	case "$kernel" in
	*/arch/x86/boot/bzImage) candidates+=("${kernel%/arch/x86/boot/bzImage}/.config") ;;
	esac
	[ -z "$modules_dir" ] || candidates+=("$modules_dir/../../../boot/config-$kernel_release")
	for file in "${candidates[@]}"; do
		if [ -f "$file" ] && [ -r "$file" ]; then
			echo "$file"
			return
		fi
	done
}

# Print the value of CONFIG_$2 in config file $1 (y, m, a string) or nothing when unset.
config_value()
{
	sed -n "s/^CONFIG_$2=//p" "$1" | tail -n 1
}

# Print a "cannot test" message for the first required option that is off in config file
# $1, or nothing. $2 names the config in the message. An option set to m passes when
# --modules was given, because modules-cpio adds sctp.ko and the modules it needs.
missing_config()
{
	local config=$1 name=$2 symbol reason value

	while IFS='|' read -r symbol reason; do
		value=$(config_value "$config" "$symbol")
		case "$value" in
		y) continue ;;
		m)
			[ -z "$modules_dir" ] || continue
			echo "cannot test: CONFIG_$symbol=m in $name but no --modules DIR was given" \
				"($reason): pass --modules with this kernel's modules or build it with CONFIG_$symbol=y"
			return
			;;
		esac
		echo "cannot test: CONFIG_$symbol is not set in $name ($reason):" \
			"build the kernel with CONFIG_$symbol=y (kernels/peeloff.config lists every required option)"
		return
	done <<-EOF
		IP_SCTP|SCTP sockets are what the reproducer tests
		SECURITY_SELINUX|the test checks SELinux labels
		NETLABEL|CIPSO and CALIPSO labels travel through NetLabel
		IPV6|the CALIPSO cases use IPv6
		SERIAL_8250_CONSOLE|the console and the results use the serial ports
		BLK_DEV_INITRD|the test system is an initramfs
		DEVTMPFS|the guest init mounts devtmpfs to reach the serial ports
		BINFMT_ELF|the guest's programs are ELF executables
		BINFMT_SCRIPT|the guest init is a shell script
	EOF
}

# Write the configuration embedded in $kernel (CONFIG_IKCONFIG) to file $1, or fail. The
# header gives the compressed payload: setup_sects at 0x1F1, payload_offset at 0x248 and
# payload_length at 0x24C (boot protocol 2.08 and later). In the decompressed vmlinux the
# gzipped config follows the marker IKCFG_ST, as scripts/extract-ikconfig expects.
extract_embedded_config()
{
	local out=$1 sects offset length vmlinux=$tmp_dir/vmlinux marker

	[ "$(read_u16 "$kernel" 518)" -ge $((0x0208)) ] || return 1
	sects=$(od -An -tu1 -j 497 -N 1 "$kernel" | tr -d ' \n')
	[ "$sects" != 0 ] || sects=4
	offset=$(od -An -tu4 -j 584 -N 4 "$kernel" | tr -d ' \n')
	length=$(od -An -tu4 -j 588 -N 4 "$kernel" | tr -d ' \n')
	offset=$(((sects + 1) * 512 + offset))
	# The decompressors fail on the size that the kernel build appends to the payload,
	# after they have written the whole vmlinux, so their status is ignored.
	tail -c +$((offset + 1)) "$kernel" | head -c "$length" |
		decompress_payload >"$vmlinux" 2>/dev/null || true
	marker=$(grep -a -b -o -m 1 IKCFG_ST "$vmlinux" | head -n 1 | cut -d: -f1)
	[ -n "$marker" ] || { rm -f "$vmlinux"; return 1; }
	tail -c +$((marker + 9)) "$vmlinux" | gzip -dc 2>/dev/null >"$out" || true
	rm -f "$vmlinux"
	grep -q '^CONFIG_' "$out"
}

# Decompress a kernel payload read from stdin, choosing the tool by its magic number.
decompress_payload()
{
	local payload=$tmp_dir/payload tool

	cat >"$payload"
	case "$(read_hex "$payload" 0)" in
	1f8b*) tool=(gzip -dc) ;;
	fd377a58) tool=(xz -dc) ;;
	28b52ffd) tool=(zstd -dc) ;;
	02214c18) tool=(lz4 -dc) ;;
	425a68*) tool=(bzip2 -dc) ;;
	5d000000) tool=(xz --format=lzma -dc) ;;
	894c5a4f) tool=(lzop -dc) ;;
	*) tool=(false) ;;
	esac
	if command -v "${tool[0]}" >/dev/null; then
		"${tool[@]}" <"$payload"
	else
		log "no ${tool[0]} to decompress $kernel: skipping its embedded config"
	fi
	rm -f "$payload"
}

# Set untestable_reason when the kernel's config file, or else its embedded config, lacks
# a required option.
check_kernel_config()
{
	local config name

	untestable_reason=""
	config=$(find_kernel_config)
	name=$config
	if [ -z "$config" ] && extract_embedded_config "$tmp_dir/embedded.config"; then
		config=$tmp_dir/embedded.config
		name="the config embedded in $kernel"
	fi
	if [ -z "$config" ]; then
		log "no config file next to $kernel and no embedded config: skipping the CONFIG_ check"
		return
	fi
	log "checking required options in $name"
	untestable_reason=$(missing_config "$config" "$name")
}

# ---------------------------------------------------------------------------------------
# Accelerator

# Succeed when a KVM guest prints SeaBIOS's boot menu line on the debug port (0x402)
# within KVM_PROBE_SECONDS. Where KVM guests hang in the firmware, nothing appears.
probe_kvm()
{
	local log_file=$tmp_dir/kvm-probe.log pid waited=0 found=1

	"$qemu" -accel kvm -nodefaults -no-user-config -display none -no-reboot -m 32 \
		-nic none -chardev "file,id=debug,path=$(qemu_path "$log_file")" \
		-device isa-debugcon,iobase=0x402,chardev=debug </dev/null >/dev/null 2>&1 &
	pid=$!
	qemu_pid=$pid
	while [ "$waited" -lt $((KVM_PROBE_SECONDS * 10)) ] && kill -0 "$pid" 2>/dev/null; do
		if grep -q -E 'Booting from|No bootable device' "$log_file" 2>/dev/null; then
			found=0
			break
		fi
		sleep 0.1
		waited=$((waited + 1))
	done
	stop_qemu
	return "$found"
}

choose_accel()
{
	case "$accel_request" in
	tcg)
		accel=tcg
		accel_reason="requested with --accel tcg"
		;;
	kvm)
		if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
			die "--accel kvm: no read/write access to /dev/kvm: join the kvm group or use --accel tcg"
		fi
		accel=kvm
		accel_reason="requested with --accel kvm"
		;;
	auto) choose_accel_auto ;;
	esac
}

# Set timeout to the accelerator's default unless --timeout gave one.
choose_timeout()
{
	[ -z "$timeout" ] || return 0
	if [ "$accel" = kvm ]; then
		timeout=$DEFAULT_TIMEOUT_KVM
	else
		timeout=$DEFAULT_TIMEOUT_TCG
	fi
}

choose_accel_auto()
{
	accel=tcg
	if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
		accel_reason="no read/write access to /dev/kvm"
	elif ! grep -q -w -E 'vmx|svm' /proc/cpuinfo; then
		accel_reason="/proc/cpuinfo shows no vmx or svm flag"
	elif [ "$dry_run" = 1 ]; then
		accel=kvm
		accel_reason="/dev/kvm is usable (--dry-run skips the KVM probe)"
	elif probe_kvm; then
		accel=kvm
		accel_reason="a KVM probe reached the firmware's boot menu"
	else
		accel_reason="a KVM probe showed no firmware output within $KVM_PROBE_SECONDS s"
	fi
}

# ---------------------------------------------------------------------------------------
# Initrd and QEMU command line

# Escape a path for a QEMU -chardev option, where a comma must be doubled.
qemu_path()
{
	echo "${1//,/,,}"
}

# Set initrd: the image itself, or a temporary copy with the modules archive appended.
# The appended archive must start on a 4-byte boundary, so the copy is padded with zeros.
build_initrd()
{
	local size pad

	initrd=$image
	[ -n "$modules_dir" ] || return 0
	if [ "$dry_run" = 1 ]; then
		initrd="$tmp_dir/initrd"
		return 0
	fi
	"$TOOLS_DIR/modules-cpio" --kver "$kernel_release" --modules "$modules_dir" \
		--output "$tmp_dir/modules.cpio" ||
		die "cannot build the modules archive from $modules_dir: see the message above"
	initrd=$tmp_dir/initrd
	cp "$image" "$initrd"
	size=$(stat -c %s "$initrd")
	pad=$(((4 - size % 4) % 4))
	[ "$pad" -eq 0 ] || head -c "$pad" /dev/zero >>"$initrd"
	cat "$tmp_dir/modules.cpio" >>"$initrd"
}

choose_memory()
{
	local initrd_mb

	[ -z "$memory" ] || return 0
	memory=$DEFAULT_MEMORY
	[ -f "$initrd" ] || return 0
	initrd_mb=$(($(stat -c %s "$initrd") / 1048576))
	if ((2 * initrd_mb + 512 > memory)); then
		memory=$((2 * initrd_mb + 512))
	fi
}

# Fill qemu_cmd for one boot writing its logs to directory $1.
build_qemu_cmd()
{
	local dir=$1

	qemu_cmd=("$qemu" -nodefaults -no-user-config -display none -no-reboot
		-accel "$accel" -m "$memory" -smp 2 -nic none -monitor none
		-kernel "$kernel" -initrd "$initrd"
		-append "$BASE_APPEND${extra_append:+ $extra_append}"
		-chardev "file,id=console,path=$(qemu_path "$dir/console.log")"
		-serial chardev:console
		-chardev "file,id=results,path=$(qemu_path "$dir/results.tap")"
		-serial chardev:results)
	[ "$accel" != kvm ] || qemu_cmd+=(-cpu host)
}

# ---------------------------------------------------------------------------------------
# Running QEMU

# Succeed once process $1 has exited, polling for up to KILL_GRACE_SECONDS.
wait_exit()
{
	local tries=0

	while kill -0 "$1" 2>/dev/null; do
		[ "$tries" -lt $((KILL_GRACE_SECONDS * 10)) ] || return 1
		sleep 0.1
		tries=$((tries + 1))
	done
}

# Stop QEMU if it still runs: SIGTERM, then SIGKILL after KILL_GRACE_SECONDS. A QEMU stuck
# in the kernel (a hung KVM vCPU) may survive even SIGKILL, and then it is reported instead
# of waited for, so that the script itself never hangs.
stop_qemu()
{
	local pid=$qemu_pid

	[ -n "$pid" ] || return 0
	qemu_pid=""
	kill -TERM "$pid" 2>/dev/null || true
	if ! wait_exit "$pid"; then
		log "QEMU (pid $pid) ignored SIGTERM for $KILL_GRACE_SECONDS s, sending SIGKILL"
		kill -KILL "$pid" 2>/dev/null || true
		if ! wait_exit "$pid"; then
			log "QEMU (pid $pid) is still running after SIGKILL: check it with ps"
			return 0
		fi
	fi
	wait "$pid" 2>/dev/null || true
}

stop_timer()
{
	[ -n "$timer_pid" ] || return 0
	kill "$timer_pid" 2>/dev/null || true
	wait "$timer_pid" 2>/dev/null || true
	timer_pid=""
}

# Copy new lines of file $1 to stdout, prefixed with $2, until QEMU exits.
start_stream()
{
	tail -n +1 -s 0.2 -f --pid="$qemu_pid" "$1" 2>/dev/null |
		sed -u -e 's/\r$//' -e "s/^/$2/" &
	stream_pids+=("$!")
}

# Wait for the streams, which end within 0.2 s of QEMU's exit.
stop_streams()
{
	local pid

	for pid in "${stream_pids[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	stream_pids=()
}

# Print the whole seconds since the guest last wrote to its results port in directory $1, or
# to the console when the results port is empty (a kernel without a second serial port).
seconds_quiet()
{
	local file=$1/results.tap

	[ -s "$file" ] || file=$1/console.log
	echo $(($(date +%s) - $(stat -c %Y "$file")))
}

# Start QEMU for one boot in directory $1 and wait until it exits or the timeout expires.
# Sets qemu_status (exit status of QEMU), timed_out (0 or 1) and, after a timeout, quiet_for.
run_qemu()
{
	local dir=$1 finished="" status=0

	build_qemu_cmd "$dir"
	: >"$dir/console.log"
	: >"$dir/results.tap"
	# --pdeathsig: a runner killed with SIGKILL (a CI job limit, timeout -s KILL)
	# takes QEMU with it instead of leaving a guest running forever.
	setpriv --pdeathsig KILL -- "${qemu_cmd[@]}" </dev/null >"$dir/qemu.log" 2>&1 &
	qemu_pid=$!
	start_stream "$dir/results.tap" ""
	[ "$verbose" = 0 ] || start_stream "$dir/console.log" "console: "
	sleep "$timeout" &
	timer_pid=$!

	wait -n -p finished "$qemu_pid" "$timer_pid" || status=$?
	timed_out=0
	qemu_status=0
	if [ "$finished" = "$qemu_pid" ]; then
		qemu_pid=""
		qemu_status=$status
	else
		timer_pid=""
		timed_out=1
		quiet_for=$(seconds_quiet "$dir")
		log "timeout: the guest ran for $timeout s, stopping QEMU" \
			"(last results output $quiet_for s before)"
		stop_qemu
	fi
	stop_timer
	stop_streams
}

# Fail with EXIT_TOOL when QEMU itself failed (not the guest): it exits 0 on power-off,
# reboot and panic because of -no-reboot and panic=-1. Exit with EXIT_INTERRUPTED when
# another process stopped QEMU with a signal, because then the guest output is cut short.
check_qemu_status()
{
	local dir=$1 stopped

	[ "$timed_out" = 0 ] || return 0
	stopped=$(grep -m 1 -o 'terminating on signal [0-9]*.*' "$dir/qemu.log" || true)
	[ -z "$stopped" ] || die "QEMU stopped early, $stopped: no verdict" "$EXIT_INTERRUPTED"
	[ "$qemu_status" != 0 ] || return 0
	die "$QEMU_BIN failed with status $qemu_status: $(head -n 3 "$dir/qemu.log" | tr '\n' ' ')(full output in $dir/qemu.log)"
}

# Boot once with the logs in directory $1, set boot_status and boot_seconds, and write the
# verdict file there.
boot_once()
{
	local dir=$1 start parser_opts=()

	mkdir -p "$dir"
	start=$(now_us)
	run_qemu "$dir"
	boot_seconds=$(seconds_since "$start")
	check_qemu_status "$dir"

	parser_opts=(--console "$dir/console.log" --crash-verdict "$crash_verdict")
	[ "$timed_out" = 0 ] || parser_opts+=(--timed-out "$timeout" --quiet-for "$quiet_for")
	boot_status=0
	"$TOOLS_DIR/parse-results" "${parser_opts[@]}" "$dir/results.tap" \
		>"$dir/summary" || boot_status=$?
	case "$boot_status" in
	0 | 1 | 125) ;;
	*) die "tools/parse-results failed with status $boot_status on $dir/results.tap" ;;
	esac
	write_verdict "$dir" "$boot_status" "$(sed -n 's/^verdict: [0-9]* (\(.*\))$/\1/p' "$dir/summary")"
	cat "$dir/summary" >>"$dir/verdict"
}

# Print the wall clock in microseconds ($EPOCHREALTIME uses the locale's decimal point).
now_us()
{
	echo "${EPOCHREALTIME/[.,]/}"
}

# Print the seconds since the now_us value $1, with one decimal.
seconds_since()
{
	local tenths=$((($(now_us) - $1) / 100000))

	echo "$((tenths / 10)).$((tenths % 10))"
}

# Write the key=value lines of the verdict file in directory $1. The callers append the
# parser summary or the per-boot lines after them.
write_verdict()
{
	{
		echo "status=$2"
		echo "reason=$3"
		echo "kernel=$kernel"
		echo "release=$kernel_release"
		echo "modules=${modules_dir:-none}"
		echo "image=$image"
		echo "accelerator=${accel:-none}"
		echo "seconds=${boot_seconds:-0}"
		echo "timeout=${timeout:-none}"
	} >"$1/verdict"
}

# ---------------------------------------------------------------------------------------
# Several boots

# Print the decided status for k reproductions, g good boots, d boots done of N, or
# nothing while further boots can still change it.
decide_runs()
{
	local k=$1 g=$2 d=$3 n=$4 left bad_min good_min

	left=$((n - d))
	bad_min=$(((n + 2) / 3))
	good_min=$(((2 * n + 2) / 3))
	if ((k >= bad_min)); then
		echo "$EXIT_BAD"
	elif ((left == 0)); then
		if ((k == 0 && g >= good_min)); then echo "$EXIT_GOOD"; else echo "$EXIT_UNTESTABLE"; fi
	elif ((k + left < bad_min && (k > 0 || g + left < good_min))); then
		echo "$EXIT_UNTESTABLE"
	fi
}

run_many()
{
	local i k=0 g=0 u=0 decided="" start

	start=$(now_us)
	for ((i = 1; i <= runs; i++)); do
		log "boot $i of $runs"
		boot_once "$output_dir/run-$i"
		echo "boot $i of $runs: status $boot_status in $boot_seconds s," \
			"$(tail -n 1 "$output_dir/run-$i/summary")" | tee -a "$tmp_dir/boots"
		case "$boot_status" in
		0) g=$((g + 1)) ;;
		1) k=$((k + 1)) ;;
		*) u=$((u + 1)) ;;
		esac
		decided=$(decide_runs "$k" "$g" "$i" "$runs")
		[ -z "$decided" ] || break
	done
	[ "$i" -le "$runs" ] || i=$runs
	[ "$i" -eq "$runs" ] || echo "stopped after $i of $runs boots: more boots cannot change the result"
	final_status=$decided
	final_reason="bug reproduced in $k of $i boots, $runs requested, $g good, $u untestable"
	final_reason+=" (bad needs $(((runs + 2) / 3)) reproductions, good needs none and"
	final_reason+=" $(((2 * runs + 2) / 3)) good boots)"
	boot_seconds=$(seconds_since "$start")
	echo "reproduced: $k of $i boots"
}

# ---------------------------------------------------------------------------------------
# Main steps

make_output_dir()
{
	if [ -n "$output_arg" ]; then
		case "$output_arg" in
		/*) output_dir=$output_arg ;;
		*) output_dir=$PWD/$output_arg ;;
		esac
		mkdir -p "$output_dir" ||
			die "cannot create output directory $output_dir: check the path and permissions"
	else
		mkdir -p "$REPO_DIR/results" ||
			die "cannot create $REPO_DIR/results: check permissions or pass --output-dir DIR"
		output_dir=$REPO_DIR/results/$(date +%Y%m%d-%H%M%S)-$$
		mkdir "$output_dir" || die "cannot create output directory $output_dir: pass --output-dir DIR"
	fi
	[ -w "$output_dir" ] || die "output directory $output_dir is not writable: pass --output-dir DIR"

	# Two runs writing one directory would truncate each other's logs, and a
	# verdict left by an earlier run must not outlive this one.
	exec {lock_fd}>"$output_dir/.lock"
	flock -n "$lock_fd" ||
		die "output directory $output_dir is in use by another run: pass another --output-dir"
	rm -rf "$output_dir"/verdict "$output_dir"/summary "$output_dir"/run-[0-9]*
}

# Record a verdict that needs no boot (a missing CONFIG_ option) and exit 125.
exit_untestable_config()
{
	echo "$untestable_reason"
	if [ "$dry_run" = 1 ]; then
		log "--dry-run: the boot would be skipped"
		return
	fi
	make_output_dir
	boot_seconds=0
	write_verdict "$output_dir" "$EXIT_UNTESTABLE" "$untestable_reason"
	echo "verdict: $output_dir/verdict"
	exit "$EXIT_UNTESTABLE"
}

# Print the words as one shell command line, quoting only the words that need it.
print_command()
{
	local word line=""

	for word in "$@"; do
		if [[ ! "$word" =~ ^[A-Za-z0-9_./:=,+@%-]+$ ]]; then
			word="'${word//\'/\'\\\'\'}'"
		fi
		line="${line:+$line }$word"
	done
	echo "$line"
}

print_plan()
{
	log "kernel $kernel (release $kernel_release)"
	log "modules ${modules_dir:-none}"
	log "image $image"
	log "accelerator $accel: $accel_reason"
	log "timeout $timeout s per boot${accel:+ under $accel}, memory $memory MB"
}

print_summary()
{
	local dir=$output_dir

	echo "---- summary ----"
	echo "kernel: $kernel_release ($kernel)"
	echo "accelerator: $accel ($accel_reason)"
	if [ "$runs" = 1 ]; then
		echo "wall time: $boot_seconds s (timeout $timeout s)"
		cat "$dir/summary"
		echo "console: $dir/console.log"
		echo "results: $dir/results.tap"
	else
		echo "wall time: $boot_seconds s for all boots (timeout $timeout s per boot)"
		echo "boots: $dir/run-*/{console.log,results.tap,verdict}"
	fi
	echo "verdict: $dir/verdict"
	echo "exit status: $final_status ($final_reason)"
}

run_boots()
{
	if [ "$runs" = 1 ]; then
		boot_once "$output_dir"
		final_status=$boot_status
		final_reason=$(sed -n 's/^verdict: [0-9]* (\(.*\))$/\1/p' "$output_dir/summary")
		return
	fi
	run_many
	write_verdict "$output_dir" "$final_status" "$final_reason"
	cat "$tmp_dir/boots" >>"$output_dir/verdict"
}

# shellcheck disable=SC2317 # run by the EXIT trap
cleanup()
{
	stop_timer
	stop_qemu
	stop_streams
	[ -z "$tmp_dir" ] || rm -rf "$tmp_dir"
}

# shellcheck disable=SC2317 # run by the INT, TERM and HUP traps
on_signal()
{
	trap - INT TERM HUP
	log "interrupted by SIG$1: stopping QEMU and removing temporary files"
	exit "$EXIT_INTERRUPTED"
}

main()
{
	parse_args "$@"
	resolve_inputs
	# A command that fails unexpectedly is a failure of this tool, never a
	# verdict: with set -e alone it would exit 1, which git bisect reads as bad.
	trap 'die "internal error: a command failed at line $LINENO: no verdict"' ERR
	tmp_dir=$(mktemp -d "${TMPDIR:-/tmp}/run-qemu.XXXXXX") ||
		die "cannot create a temporary directory in ${TMPDIR:-/tmp}: set TMPDIR to a writable directory"
	trap cleanup EXIT
	trap 'on_signal INT' INT
	trap 'on_signal TERM' TERM
	trap 'on_signal HUP' HUP

	check_kernel_config
	[ -z "$untestable_reason" ] || exit_untestable_config
	choose_accel
	choose_timeout
	build_initrd
	choose_memory
	if [ "$dry_run" = 1 ]; then
		build_qemu_cmd "${output_arg:-results/DATE-PID}"
		print_plan
		[ "$initrd" = "$image" ] ||
			echo "# $initrd: $image followed by the modules archive (deleted when this script exits)"
		print_command "${qemu_cmd[@]}"
		exit "$EXIT_GOOD"
	fi
	make_output_dir
	print_plan
	log "output directory $output_dir"
	run_boots
	print_summary
	exit "$final_status"
}

main "$@"
