#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Configure and build an x86-64 bzImage for the SCTP peeloff reproducer from
# a kernel source tree, out of tree (make O=). The configuration is a base
# target (tinyconfig by default) with kernels/peeloff.config merged over it,
# and options that only the fragment makes visible stay off unless it
# requests them. The script fails if any value that the fragment requests is
# missing from the final .config, because merge_config.sh only warns.
#
# The new configuration is generated in a scratch directory and copied into
# the build directory only when it differs from the .config there, so a
# rebuild with unchanged inputs stays incremental.

set -eEu

readonly EXIT_KERNEL_FAILED=3
readonly EXIT_USAGE=255
readonly PROG=${0##*/}

SCRIPT_DIR=$(cd "$(dirname "$0")" && pwd)
readonly SCRIPT_DIR

BASE_CONFIG=tinyconfig
FRAGMENT=$SCRIPT_DIR/peeloff.config
BUILD_DIR=
OUTPUT_DIR=
KCONFIG_DIR=
JOBS=$(nproc)
SRC_TREE=

usage() {
	cat <<EOF
Usage: $PROG [OPTION]... SRC_TREE

Build an x86-64 bzImage for the SCTP peeloff reproducer from the kernel
source tree SRC_TREE. The build runs out of tree (make O=BUILD_DIR), so
SRC_TREE must be clean: no .config and no include/config.

Steps:
  1. make BASE in a scratch directory (BUILD_DIR/peeloff-kconfig) and
     merge FRAGMENT into it with scripts/kconfig/merge_config.sh. Then
     run allnoconfig with that file as KCONFIG_ALLCONFIG, so that the
     options FRAGMENT makes visible stay off unless it requests them,
     and olddefconfig.
  2. Check that every value FRAGMENT requests is in that .config, and
     fail naming each one that is not.
  3. Copy it to BUILD_DIR/.config only if it differs from the one there,
     so that unchanged inputs give an incremental build.
  4. make bzImage, then copy bzImage and the .config (as "config")
     to OUTPUT_DIR and print both paths.

Options:
  --base TARGET     base configuration target: tinyconfig, allnoconfig
                    or defconfig (default: tinyconfig)
  --fragment FILE   config fragment to merge
                    (default: $SCRIPT_DIR/peeloff.config)
  --build-dir DIR   make O= directory (default: SRC_TREE/.peeloff-build)
  --output DIR      directory that receives bzImage and config
                    (default: BUILD_DIR/peeloff-out)
  --jobs N          parallel make jobs (default: nproc, here $JOBS)
  -h, --help        print this help and exit

Exit status:
  0    bzImage and config are in OUTPUT_DIR.
  $EXIT_KERNEL_FAILED    This source tree gave no kernel: a requested option is
       missing from the final .config, or a make step failed. In a
       git bisect run step, map it to 125 (skip this commit).
  $EXIT_USAGE  Invalid usage or a host problem: unknown option, SRC_TREE
       missing, not a kernel source tree or not clean, a build tool
       missing, or an unexpected error. Fix the setup; a bisect should
       stop here.
EOF
}

die_usage() {
	echo "$PROG: $*" >&2
	exit "$EXIT_USAGE"
}

die_kernel() {
	echo "$PROG: $*" >&2
	exit "$EXIT_KERNEL_FAILED"
}

# Unexpected failures (cp, mkdir, ...) are host problems, not properties of
# the source tree, so they must not be mistaken for a bad commit.
# shellcheck disable=SC2317 # called from the ERR trap, not unreachable
on_error() {
	echo "$PROG: line $2: command failed with status $1;" \
		"fix the host problem above and retry" >&2
	exit "$EXIT_USAGE"
}

require_value() {
	if [ "$#" -lt 2 ] || [ -z "$2" ]; then
		die_usage "option $1 requires a value; see $PROG --help"
	fi
}

parse_args() {
	while [ "$#" -gt 0 ]; do
		case $1 in
		-h | --help)
			usage
			exit 0
			;;
		--base | --fragment | --build-dir | --output | --jobs)
			require_value "$@"
			set_option "$1" "$2"
			shift 2
			;;
		--)
			shift
			break
			;;
		-*)
			die_usage "unknown option '$1'; see $PROG --help"
			;;
		*)
			break
			;;
		esac
	done

	if [ "$#" -ne 1 ]; then
		die_usage "expected exactly one SRC_TREE argument, got $#; see $PROG --help"
	fi
	SRC_TREE=$1
}

set_option() {
	case $1 in
	--base) BASE_CONFIG=$2 ;;
	--fragment) FRAGMENT=$2 ;;
	--build-dir) BUILD_DIR=$2 ;;
	--output) OUTPUT_DIR=$2 ;;
	--jobs) JOBS=$2 ;;
	esac
}

check_host() {
	local tool

	if [ "$(uname -m)" != x86_64 ]; then
		die_usage "host architecture '$(uname -m)' is not supported;" \
			"run this on an x86_64 host (the script does not cross-compile)"
	fi

	for tool in make gcc ld flex bison bc gzip perl; do
		if ! command -v "$tool" >/dev/null; then
			die_usage "build tool '$tool' not found in PATH; install it" \
				"(Debian: build-essential flex bison bc gzip perl)"
		fi
	done
}

check_args() {
	case $BASE_CONFIG in
	tinyconfig | allnoconfig | defconfig) ;;
	*) die_usage "invalid --base '$BASE_CONFIG'; use tinyconfig, allnoconfig or defconfig" ;;
	esac

	case $JOBS in
	'' | *[!0-9]* | 0) die_usage "invalid --jobs '$JOBS'; give a positive integer" ;;
	esac

	if [ ! -r "$FRAGMENT" ]; then
		die_usage "config fragment '$FRAGMENT' not found or not readable"
	fi
	FRAGMENT=$(cd "$(dirname "$FRAGMENT")" && pwd)/$(basename "$FRAGMENT")

	# Validate every line here, in this shell, so that an invalid line
	# exits with the usage status rather than inside a subshell later.
	read_requests >/dev/null
}

check_src_tree() {
	if [ ! -d "$SRC_TREE" ]; then
		die_usage "source tree '$SRC_TREE' not found; pass a kernel source directory"
	fi
	SRC_TREE=$(cd "$SRC_TREE" && pwd)

	if [ ! -f "$SRC_TREE/Makefile" ] || [ ! -f "$SRC_TREE/Kconfig" ] ||
		[ ! -f "$SRC_TREE/arch/x86/Kconfig" ] ||
		[ ! -f "$SRC_TREE/scripts/kconfig/merge_config.sh" ]; then
		die_usage "'$SRC_TREE' is not a kernel source tree" \
			"(Makefile, Kconfig, arch/x86 or scripts/kconfig/merge_config.sh missing)"
	fi

	if [ -e "$SRC_TREE/.config" ] || [ -d "$SRC_TREE/include/config" ]; then
		die_usage "source tree '$SRC_TREE' has an in-tree configuration;" \
			"run 'make -C $SRC_TREE mrproper' before an out-of-tree build"
	fi
}

setup_dirs() {
	BUILD_DIR=${BUILD_DIR:-$SRC_TREE/.peeloff-build}
	mkdir -p "$BUILD_DIR"
	BUILD_DIR=$(cd "$BUILD_DIR" && pwd)
	OUTPUT_DIR=${OUTPUT_DIR:-$BUILD_DIR/peeloff-out}
	KCONFIG_DIR=$BUILD_DIR/peeloff-kconfig
	mkdir -p "$OUTPUT_DIR" "$KCONFIG_DIR"
	OUTPUT_DIR=$(cd "$OUTPUT_DIR" && pwd)
}

# Hold a lock on the build directory so that two runs never share it.
lock_build_dir() {
	exec {LOCK_FD}>"$BUILD_DIR/.peeloff-lock"
	if ! flock -n "$LOCK_FD"; then
		echo "$PROG: waiting for another build in $BUILD_DIR"
		flock "$LOCK_FD"
	fi
}

# Run make on the source tree with the given O= directory. ARCH=x86_64 is
# explicit because with the default ARCH=x86, allnoconfig and tinyconfig
# produce a 32-bit configuration.
run_make() {
	local objdir=$1

	shift
	make -C "$SRC_TREE" O="$objdir" ARCH=x86_64 "$@"
}

# Merge the fragment over the base config. Then run allnoconfig with the
# result as KCONFIG_ALLCONFIG, so that symbols the fragment makes visible get
# "no" rather than their Kconfig default. With olddefconfig alone, enabling
# TTY, ACPI or PCI would also enable VT, PS/2 input, ACPI fan and thermal
# drivers and more. Symbols that the base config set keep their values.
generate_config() {
	local merged=$KCONFIG_DIR/peeloff-merged.config

	if ! run_make "$KCONFIG_DIR" -s "$BASE_CONFIG" >/dev/null; then
		die_kernel "make $BASE_CONFIG failed in $KCONFIG_DIR"
	fi

	# merge_config.sh writes its temporary files into the current directory.
	if ! (cd "$KCONFIG_DIR" &&
		sh "$SRC_TREE/scripts/kconfig/merge_config.sh" -m .config "$FRAGMENT" \
			>/dev/null); then
		die_kernel "merge_config.sh failed to merge $FRAGMENT into $KCONFIG_DIR/.config"
	fi
	mv -f "$KCONFIG_DIR/.config" "$merged"

	if ! run_make "$KCONFIG_DIR" -s KCONFIG_ALLCONFIG="$merged" allnoconfig >/dev/null ||
		! run_make "$KCONFIG_DIR" -s olddefconfig >/dev/null; then
		die_kernel "make allnoconfig or olddefconfig with $merged failed in $KCONFIG_DIR"
	fi
}

# Print the option lines of the fragment ("CONFIG_X=value" and
# "# CONFIG_X is not set"), and reject any other line and any option that
# appears twice.
read_requests() {
	local line symbol number=0
	local -A seen=()

	while IFS= read -r line || [ -n "$line" ]; do
		number=$((number + 1))
		case $line in
		CONFIG_*=*)
			symbol=${line%%=*}
			;;
		"# CONFIG_"*" is not set")
			symbol=${line#"# "}
			symbol=${symbol%" is not set"}
			;;
		"" | "#"*)
			continue
			;;
		*)
			die_usage "$FRAGMENT:$number: invalid line '$line';" \
				"use CONFIG_X=value or '# CONFIG_X is not set'"
			;;
		esac

		if [ -n "${seen[$symbol]-}" ]; then
			die_usage "$FRAGMENT:$number: $symbol is already set on line" \
				"${seen[$symbol]}; keep one line per option"
		fi
		seen[$symbol]=$number
		echo "$line"
	done <"$FRAGMENT"
}

# Fail naming every option whose final value differs from the request.
# A "not set" request is met when the symbol is not set or absent.
check_config() {
	local config=$1 line symbol request
	local -A final=()
	local missing=0

	while IFS= read -r line; do
		case $line in
		CONFIG_*=*)
			final[${line%%=*}]=$line
			;;
		"# CONFIG_"*" is not set")
			symbol=${line#"# "}
			final[${symbol%" is not set"}]=$line
			;;
		esac
	done <"$config"

	while IFS= read -r request; do
		case $request in
		CONFIG_*=*)
			symbol=${request%%=*}
			;;
		*)
			symbol=${request#"# "}
			symbol=${symbol%" is not set"}
			if [ "${final[$symbol]-$request}" = "$request" ]; then
				continue
			fi
			;;
		esac

		if [ "${final[$symbol]-}" = "$request" ]; then
			continue
		fi
		missing=$((missing + 1))
		if [ -n "${final[$symbol]-}" ]; then
			echo "$PROG: requested '$request', but the final .config has" \
				"'${final[$symbol]}'" >&2
		else
			echo "$PROG: requested '$request', but the final .config does" \
				"not contain $symbol (unknown symbol, or its dependencies" \
				"are not met)" >&2
		fi
	done < <(read_requests)

	if [ "$missing" -gt 0 ]; then
		die_kernel "$missing requested option(s) missing from $config;" \
			"check their dependencies and the options that select them" \
			"in the Kconfig files of $SRC_TREE"
	fi
	echo "$PROG: all options requested by $FRAGMENT are set"
}

install_config() {
	if cmp -s "$KCONFIG_DIR/.config" "$BUILD_DIR/.config"; then
		echo "$PROG: configuration unchanged, keeping $BUILD_DIR/.config"
		return
	fi
	cp "$KCONFIG_DIR/.config" "$BUILD_DIR/.config"
	echo "$PROG: configuration written to $BUILD_DIR/.config"
}

build_kernel() {
	if ! run_make "$BUILD_DIR" -j"$JOBS" bzImage; then
		die_kernel "make bzImage failed in $BUILD_DIR"
	fi
}

# Copy through a temporary name so that a present bzImage is always whole.
copy_outputs() {
	cp "$BUILD_DIR/.config" "$OUTPUT_DIR/.config.tmp"
	mv -f "$OUTPUT_DIR/.config.tmp" "$OUTPUT_DIR/config"
	cp "$BUILD_DIR/arch/x86/boot/bzImage" "$OUTPUT_DIR/.bzImage.tmp"
	mv -f "$OUTPUT_DIR/.bzImage.tmp" "$OUTPUT_DIR/bzImage"

	echo "bzImage: $OUTPUT_DIR/bzImage"
	echo "config: $OUTPUT_DIR/config"
}

main() {
	trap 'on_error "$?" "$LINENO"' ERR
	unset KCONFIG_CONFIG KCONFIG_ALLCONFIG

	parse_args "$@"
	check_host
	check_args
	check_src_tree
	setup_dirs
	lock_build_dir

	echo "$PROG: source $SRC_TREE, base $BASE_CONFIG, fragment $FRAGMENT"
	echo "$PROG: build directory $BUILD_DIR, $JOBS job(s)"

	generate_config
	check_config "$KCONFIG_DIR/.config"
	install_config

	build_kernel
	copy_outputs
}

# Exit right after main: bash reads a script while running it, so an edit
# to this file during a long build must not run the changed tail.
main "$@"
exit
