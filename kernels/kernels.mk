# SPDX-License-Identifier: GPL-2.0
#
# Known-good and known-bad guest kernels, built from Debian's
# linux-source-6.1 package and cached outside the repository.
# The top-level Makefile includes this file.
#
# Targets:
#   kernel-good         build or reuse the unpatched bzImage, print its path
#   kernel-bad          build or reuse the bzImage with KERNEL_BAD_PATCH
#                       applied, print its path
#   kernel-cache-clean  delete $(PEELOFF_CACHE)/kernels
#
# $(KERNEL_GOOD) and $(KERNEL_BAD) are the bzImage paths, for other targets
# to depend on. Each path contains a hash of the source package version, the
# base config name, the fragment, build-kernel.sh and, for the bad kernel, the
# patch, so a change to any of them selects a new path. A bzImage that exists
# is never rebuilt, and make does not run the kernel build at all. The build
# directories persist across hashes, so a new hash with an unchanged .config
# costs an incremental build only.
#
# Cache layout under $(PEELOFF_CACHE)/kernels:
#   src/linux-source-6.1_VERSION/   git repository of the extracted source:
#       one commit on branch "debian", tagged "pristine". Its work tree stays
#       at that commit and is the known-good tree (build directory
#       .peeloff-build).
#   src/linux-source-6.1_VERSION-bad-PATCHHASH/   git worktree on branch
#       known-bad-PATCHHASH: pristine plus the patch, committed by git am.
#   good-KEY/ and bad-KEY/   bzImage and config.
#   build.lock   held while a source tree is extracted or a kernel is built,
#       so that parallel make jobs and concurrent make runs build one at a time.
# For other checkouts (a bisect test, for example), add a git worktree; do not
# check out another commit in the pristine work tree.

KERNELS_DIR := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))

PEELOFF_CACHE ?= $(if $(XDG_CACHE_HOME),$(XDG_CACHE_HOME),$(HOME)/.cache)/sctp-peeloff-repro

LINUX_SOURCE_PACKAGE ?= linux-source-6.1
LINUX_SOURCE_TARBALL ?= /usr/src/$(LINUX_SOURCE_PACKAGE).tar.xz
ifeq ($(origin LINUX_SOURCE_VERSION),undefined)
LINUX_SOURCE_VERSION := $(shell dpkg-query -W -f='$${Version}' $(LINUX_SOURCE_PACKAGE) 2>/dev/null)
endif

ifeq ($(strip $(PEELOFF_CACHE)),)
$(error PEELOFF_CACHE is empty; unset it to use the default or set it to a cache directory)
endif

KERNEL_BASE_CONFIG ?= tinyconfig
KERNEL_FRAGMENT := $(KERNELS_DIR)/peeloff.config
KERNEL_BAD_PATCH := $(KERNELS_DIR)/0001-sctp-restore-pre-5.18-client-labeling.patch
KERNEL_BUILD_SCRIPT := $(KERNELS_DIR)/build-kernel.sh

# Return the first 16 hex digits of the SHA-256 of the source version, the
# base config name and the contents of the files in $(1).
kernel_hash = $(shell { echo '$(LINUX_SOURCE_VERSION) $(KERNEL_BASE_CONFIG)'; \
	cat $(1); } | sha256sum | cut -c1-16)

KERNEL_PATCH_HASH := $(shell sha256sum < $(KERNEL_BAD_PATCH) | cut -c1-12)
KERNEL_GOOD_KEY := $(call kernel_hash,$(KERNEL_FRAGMENT) $(KERNEL_BUILD_SCRIPT))
KERNEL_BAD_KEY := $(call kernel_hash,$(KERNEL_FRAGMENT) $(KERNEL_BUILD_SCRIPT) $(KERNEL_BAD_PATCH))

# A Debian version may contain an epoch ("1:"), and make rejects a colon in
# a target name.
KERNEL_SRC_NAME := $(LINUX_SOURCE_PACKAGE)_$(subst :,_,$(LINUX_SOURCE_VERSION))
KERNEL_CACHE := $(PEELOFF_CACHE)/kernels
KERNEL_LOCK := $(KERNEL_CACHE)/build.lock
KERNEL_SRC := $(KERNEL_CACHE)/src/$(KERNEL_SRC_NAME)
KERNEL_SRC_STAMP := $(KERNEL_SRC)/.git/peeloff-extracted
KERNEL_BAD_SRC := $(KERNEL_SRC)-bad-$(KERNEL_PATCH_HASH)
KERNEL_BAD_SRC_STAMP := $(KERNEL_BAD_SRC)/.peeloff-patched

KERNEL_GOOD := $(KERNEL_CACHE)/good-$(KERNEL_GOOD_KEY)/bzImage
KERNEL_BAD := $(KERNEL_CACHE)/bad-$(KERNEL_BAD_KEY)/bzImage

# The kernel build gets its own make flags: build-kernel.sh passes -j itself,
# and variables given on this make's command line must not reach kbuild.
KERNEL_BUILD_ENV := env -u MAKEFLAGS -u MFLAGS

# Commits in the cache repository take their committer date (and the
# pristine commit its author date) from the tarball's modification time, so
# the commit ids, which the kernel version string shows, are the same on
# every machine with the same package.
KERNEL_GIT_DATE = $$(stat -c %Y "$(LINUX_SOURCE_TARBALL)") +0000
KERNEL_GIT_ENV = GIT_AUTHOR_DATE="$(KERNEL_GIT_DATE)" GIT_COMMITTER_DATE="$(KERNEL_GIT_DATE)"

.PHONY: kernel-good kernel-bad kernel-cache-clean

kernel-good: $(KERNEL_GOOD)
	@echo "$(KERNEL_GOOD)"

kernel-bad: $(KERNEL_BAD)
	@echo "$(KERNEL_BAD)"

kernel-cache-clean:
	rm -rf "$(KERNEL_CACHE)"

# The bzImage rules have no normal prerequisites on purpose: the hash in the
# path tracks the inputs, and file timestamps (a fresh clone, a touch) must
# not trigger a rebuild. The source trees are order-only prerequisites.
$(KERNEL_GOOD): | $(KERNEL_SRC_STAMP)
	@$(call kernel_check_pristine)
	@mkdir -p "$(@D)"
	@exec 9>"$(KERNEL_LOCK)"; flock 9; \
	$(KERNEL_BUILD_ENV) "$(KERNEL_BUILD_SCRIPT)" --base "$(KERNEL_BASE_CONFIG)" \
		--fragment "$(KERNEL_FRAGMENT)" --output "$(@D)" "$(KERNEL_SRC)"

$(KERNEL_BAD): | $(KERNEL_BAD_SRC_STAMP)
	@mkdir -p "$(@D)"
	@exec 9>"$(KERNEL_LOCK)"; flock 9; \
	$(KERNEL_BUILD_ENV) "$(KERNEL_BUILD_SCRIPT)" --base "$(KERNEL_BASE_CONFIG)" \
		--fragment "$(KERNEL_FRAGMENT)" --output "$(@D)" "$(KERNEL_BAD_SRC)"

# Fail when the known-good work tree is not at the pristine commit or has
# changes to tracked files.
define kernel_check_pristine
	if [ "$$(git -C "$(KERNEL_SRC)" rev-parse HEAD)" != \
		"$$(git -C "$(KERNEL_SRC)" rev-parse 'pristine^{commit}')" ] || \
		! git -C "$(KERNEL_SRC)" diff --quiet HEAD; then \
		echo "kernels.mk: $(KERNEL_SRC) is not at the pristine commit or has changes;" \
			"run 'git -C $(KERNEL_SRC) checkout -f debian'" >&2; \
		exit 1; \
	fi
endef

# Extract the source package once into a git repository. The tree is built
# under a temporary name and renamed when complete, so an interrupted run
# leaves no half-extracted tree behind. git add -f keeps files that the
# kernel's .gitignore files would skip, so the commit matches the tarball.
$(KERNEL_SRC_STAMP):
	@if [ -z "$(LINUX_SOURCE_VERSION)" ]; then \
		echo "kernels.mk: dpkg-query reports no version of $(LINUX_SOURCE_PACKAGE);" \
			"run 'apt-get install $(LINUX_SOURCE_PACKAGE)'" \
			"or set LINUX_SOURCE_VERSION" >&2; \
		exit 1; \
	fi
	@if [ ! -r "$(LINUX_SOURCE_TARBALL)" ]; then \
		echo "kernels.mk: $(LINUX_SOURCE_TARBALL) not found;" \
			"run 'apt-get install $(LINUX_SOURCE_PACKAGE)'" \
			"or set LINUX_SOURCE_TARBALL" >&2; \
		exit 1; \
	fi
	@mkdir -p "$(KERNEL_CACHE)/src"
	@exec 9>"$(KERNEL_LOCK)"; flock 9; \
	if [ -e "$@" ]; then exit 0; fi; \
	set -e; \
	tmp="$(KERNEL_SRC).tmp"; \
	rm -rf "$$tmp" "$(KERNEL_SRC)"; \
	mkdir -p "$$tmp"; \
	echo "kernels.mk: extracting $(LINUX_SOURCE_TARBALL) into $(KERNEL_SRC)"; \
	tar -xf "$(LINUX_SOURCE_TARBALL)" -C "$$tmp" --strip-components=1; \
	git -C "$$tmp" init -q -b debian; \
	git -C "$$tmp" config gc.auto 0; \
	git -C "$$tmp" config user.name sctp-peeloff-repro; \
	git -C "$$tmp" config user.email sctp-peeloff-repro@invalid; \
	git -C "$$tmp" add -A -f; \
	$(KERNEL_GIT_ENV) git -C "$$tmp" commit -q \
		-m "$(LINUX_SOURCE_PACKAGE) $(LINUX_SOURCE_VERSION) as packaged by Debian"; \
	git -C "$$tmp" tag pristine; \
	mv "$$tmp" "$(KERNEL_SRC)"; \
	touch "$@"

# Check out the pristine commit as a worktree and apply the patch with git am.
$(KERNEL_BAD_SRC_STAMP): | $(KERNEL_SRC_STAMP)
	@exec 9>"$(KERNEL_LOCK)"; flock 9; \
	if [ -e "$@" ]; then exit 0; fi; \
	set -e; \
	rm -rf "$(KERNEL_BAD_SRC)"; \
	git -C "$(KERNEL_SRC)" worktree prune; \
	git -C "$(KERNEL_SRC)" worktree add -q -f -B "known-bad-$(KERNEL_PATCH_HASH)" \
		"$(KERNEL_BAD_SRC)" pristine; \
	GIT_COMMITTER_DATE="$(KERNEL_GIT_DATE)" \
		git -C "$(KERNEL_BAD_SRC)" am -q "$(KERNEL_BAD_PATCH)"; \
	touch "$@"
