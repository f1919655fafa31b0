# SPDX-License-Identifier: GPL-2.0
#
# sctp-peeloff-repro: build the test programs, the policy, the guest image
# and the default kernel, run the matrix, run the tests. See README.md.

SHELL := /bin/bash

BUILD := build
BIN := $(BUILD)/bin
POLICY_VERSION ?= 31
POLICY := $(BUILD)/policy/policy.$(POLICY_VERSION)
OVERLAY := $(BUILD)/overlay
IMAGE := $(BUILD)/initramfs.cpio
KERNEL_DIR := $(BUILD)/default-kernel
KERNEL := $(KERNEL_DIR)/vmlinuz
MKOSI ?= mkosi
# mkosi 14 writes into a per-release subdirectory, current mkosi does not.
MKOSI_OUT := $(BUILD)/mkosi
BASE_IMAGE := $(MKOSI_OUT)/peeloff-base.cpio
PROGRAMS := sctp_client sctp_server sctp_peeloff_client sctp_peeloff_server peeloff_exec
RUN_QEMU_FLAGS ?=

# Debian packages that building, running and testing need; the second group
# builds kernels (kernels/kernels.mk).
PACKAGES := bats bc binutils busybox-static ca-certificates cpio debootstrap file gcc \
	kmod libc6-dev libsctp-dev libselinux1-dev libsepol-dev lz4 make mkosi pkg-config \
	qemu-system-x86 secilc setools shellcheck zstd \
	bison flex git libelf-dev libssl-dev linux-source-6.1 xz-utils

.PHONY: all programs policy image kernel run deps check check-programs \
	check-policy check-parser check-run-qemu check-boot check-robustness check-kernels \
	check-bisect clean distclean

all: programs policy image kernel

# ---------------------------------------------------------------------------
# Host packages

deps:
	@missing=$$(for p in $(PACKAGES); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok' || \
			echo $$p; done); \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if ! command -v apt-get >/dev/null; then \
		echo "deps: not a Debian system; install the equivalents of:" $$missing >&2; \
		exit 1; \
	fi; \
	if [ "$$(id -u)" != 0 ]; then \
		echo "deps: missing packages:" $$missing >&2; \
		echo "deps: run 'sudo make deps' (or the same command as root)" >&2; \
		exit 1; \
	fi; \
	echo "deps: installing" $$missing; \
	apt-get update -q && \
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing

# ---------------------------------------------------------------------------
# Test programs

programs:
	$(MAKE) -C src O=$(CURDIR)/$(BIN)

$(addprefix $(BIN)/,$(PROGRAMS) exitcodes.sh): programs

# ---------------------------------------------------------------------------
# Policy

policy: $(POLICY)

# CIL has no loops, so the 1024 category declarations are generated.
$(BUILD)/policy/categories.cil:
	@mkdir -p $(@D)
	{ for i in $$(seq 0 1023); do echo "(category c$$i)"; done; \
	  echo "(categoryorder ($$(seq -f 'c%g' -s ' ' 0 1023)))"; \
	  echo "(sensitivitycategory s0 (range c0 c1023))"; } >$@

$(POLICY): policy/peeloff.cil $(BUILD)/policy/categories.cil
	secilc --mls=true --policyvers=$(POLICY_VERSION) --filecontext=/dev/null -o $@ $^

# ---------------------------------------------------------------------------
# Guest image: the mkosi base archive, then an overlay archive with the
# programs, the policy and mkosi.extra/. The kernel unpacks both in order, so
# the overlay's files win, and editing a program or the init never reruns
# mkosi.

image: $(IMAGE)

$(BASE_IMAGE): mkosi.conf mkosi.finalize
	@mkdir -p $(MKOSI_OUT)
	$(MKOSI) --force build
	@if [ -f "$(MKOSI_OUT)/debian~bookworm/peeloff-base.cpio" ]; then \
		mv "$(MKOSI_OUT)/debian~bookworm/peeloff-base.cpio" $@; fi
	@touch $@

$(BUILD)/overlay.cpio: $(addprefix $(BIN)/,$(PROGRAMS) exitcodes.sh) $(POLICY) \
		$(shell find mkosi.extra -type f)
	rm -rf $(OVERLAY)
	mkdir -p $(OVERLAY)/usr/lib/peeloff/bin
	cp -a mkosi.extra/. $(OVERLAY)/
	install -m 0755 -s $(addprefix $(BIN)/,$(PROGRAMS)) $(OVERLAY)/usr/lib/peeloff/bin/
	install -m 0644 $(BIN)/exitcodes.sh $(OVERLAY)/usr/lib/peeloff/bin/
	install -m 0644 $(POLICY) $(OVERLAY)/usr/lib/peeloff/policy
	chmod 0755 $(OVERLAY)/init $(OVERLAY)/usr/lib/peeloff/netlabel-setup
	cd $(OVERLAY) && find . -mindepth 1 | LC_ALL=C sort | \
		cpio --quiet -o -H newc -R 0:0 >$(CURDIR)/$@

$(IMAGE): $(BASE_IMAGE) $(BUILD)/overlay.cpio
	cat $^ >$@.tmp
	mv $@.tmp $@
	@echo "image: $@ ($$(du -h $@ | cut -f1))"

# ---------------------------------------------------------------------------
# Default kernel: Debian's cloud kernel, installed by mkosi into a tree.

kernel: $(KERNEL)

$(KERNEL): kernels/debian-cloud/mkosi.conf
	@mkdir -p $(MKOSI_OUT)
	cd kernels/debian-cloud && $(MKOSI) --force build
	@tree=$$(ls -d $(MKOSI_OUT)/debian-cloud-kernel $(MKOSI_OUT)/*/debian-cloud-kernel \
		2>/dev/null | head -n 1); \
	release=$$(ls $$tree/usr/lib/modules | head -n 1); \
	rm -rf $(KERNEL_DIR) && mkdir -p $(KERNEL_DIR)/modules/lib/modules && \
	cp $$tree/boot/vmlinuz-$$release $(KERNEL_DIR)/vmlinuz.tmp && \
	cp $$tree/boot/config-$$release $(KERNEL_DIR)/config-$$release && \
	cp -a $$tree/usr/lib/modules/$$release $(KERNEL_DIR)/modules/lib/modules/ && \
	mv $(KERNEL_DIR)/vmlinuz.tmp $@ && \
	echo "kernel: $@ ($$release)"

# ---------------------------------------------------------------------------
# Main job

run: deps all
	./run-qemu.sh $(RUN_QEMU_FLAGS)

# ---------------------------------------------------------------------------
# Tests. check runs every suite that fits the default budget, including one
# real boot of the default kernel.

check: deps all check-programs check-policy check-parser check-run-qemu check-boot

check-programs: programs
	bats tests/programs.bats

check-policy: policy
	bats tests/policy.bats

check-parser:
	bats tests/parser.bats

check-run-qemu: image kernel
	bats tests/run-qemu.bats

check-boot: image kernel
	bats tests/boot.bats

# Real boots of broken setups (no SCTP, no SELinux, rejected policy, no console, injected
# panics and hangs): about 2 minutes under TCG.
check-robustness: image kernel
	bats tests/untestable.bats

-include kernels/kernels.mk

clean:
	$(MAKE) -C src clean O=$(CURDIR)/$(BIN)
	rm -rf $(BUILD)/bin $(BUILD)/policy $(OVERLAY) $(BUILD)/overlay.cpio $(IMAGE)

distclean: clean
	rm -rf $(BUILD) results mkosi.cache/*

# Self-test on the known-good and known-bad kernels (kernels/kernels.mk):
# builds them on the first run (about 15 minutes here), then reuses them.
check-kernels: image $(KERNEL_GOOD) $(KERNEL_BAD)
	KERNEL_GOOD=$(KERNEL_GOOD) KERNEL_BAD=$(KERNEL_BAD) bats tests/kernels.bats

# A real git bisect over a throwaway history made from the 6.1 source.
check-bisect: image $(KERNEL_GOOD)
	KERNEL_SRC=$(KERNEL_SRC) KERNEL_BAD_PATCH=$(KERNEL_BAD_PATCH) \
		BISECT_WORK=$(KERNEL_CACHE)/bisect bats tests/bisect.bats
