# The Linux guest: Debian's stock i386 kernel and a busybox initramfs
# (guests/linux/README.md). Included by the top-level Makefile.
#
#   make linux            fetch/verify the kernel and busybox-static (scripts/linux-fetch.sh,
#                         cached in ~/.cache/bt86), build build/linux/vmlinuz and
#                         build/linux/initramfs.cpio.gz
#   make run-linux        boot it under bt86 with a shell on this terminal
#   make run-linux-qemu   the same under qemu-system-i386 (TCG), for comparison
#   make bench-linux      boot time, fork+wait and gzip under bt86 and QEMU (bench/linux.sh)
#
# Own files for the guest: put them in guests/linux/overlay/ (ignored by git)
# or name a directory with `make linux EXTRA=dir`; either is copied over the
# initramfs root last (overlay/bin/foo becomes /bin/foo).

LINUX_OUT     := build/linux
LINUX_KERNEL  := $(LINUX_OUT)/vmlinuz
LINUX_BUSYBOX := $(LINUX_OUT)/busybox
LINUX_INITRD  := $(LINUX_OUT)/initramfs.cpio.gz
LINUX_UTIL    := $(LINUX_OUT)/bt86util
LINUX_ROOT    := $(LINUX_OUT)/root
MKCPIO        := build/gen/mkcpio
LINUX_OVERLAY := guests/linux/overlay
EXTRA ?=
LINUX_FILES   := guests/linux/init guests/linux/profile guests/linux/initramfs.spec \
                 $(wildcard guests/linux/tests/*.sh)
# files of the overlay and EXTRA: new or changed ones rebuild the initramfs
LINUX_EXTRA_FILES := $(shell find $(LINUX_OVERLAY) $(EXTRA) \( -type f -o -type l \) 2>/dev/null | sort)
# ... and so does a different EXTRA or a file gone: the initramfs recipe
# records both in LINUX_EXTRA_STAMP, and a mismatch forces a rebuild.
LINUX_EXTRA_STAMP := $(LINUX_OUT)/extra-files
LINUX_EXTRA_KEY   := $(strip EXTRA=$(strip $(EXTRA)) $(LINUX_EXTRA_FILES))
ifneq ($(LINUX_EXTRA_KEY),$(strip $(file <$(LINUX_EXTRA_STAMP))))
LINUX_EXTRA_FORCE := linux-force
endif

LINUX_MEM        ?= 256
LINUX_APPEND     ?= console=ttyS0
LINUX_RUN_ARGS   ?= -engine bt

.PHONY: linux linux-fetch linux-force run-linux run-linux-qemu bench-linux
linux: $(LINUX_KERNEL) $(LINUX_INITRD)

# Always asks apt for the current kernel (the ABI number changes); the script
# rewrites its outputs only when they change, so nothing else is rebuilt
# when the kernel stays the same.
$(LINUX_KERNEL) $(LINUX_BUSYBOX) &: linux-fetch
	@bash scripts/linux-fetch.sh $(LINUX_OUT)
linux-fetch linux-force:

$(MKCPIO): scripts/mkcpio.c
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(WARN) -O2 -o $@ $<

# Static i386, no C library: the guest tests' clock and fork+wait loop.
$(LINUX_UTIL): guests/linux/prog/bt86util.c
	@mkdir -p $(dir $@)
	$(GUEST_CC) -m32 -march=i686 -static -nostdlib -fno-pie -no-pie -ffreestanding \
	  -fno-stack-protector -fno-asynchronous-unwind-tables -fno-tree-loop-distribute-patterns \
	  -Os -std=gnu11 -Wall -Wextra -Werror -o $@ $< -lgcc

$(LINUX_INITRD): $(LINUX_BUSYBOX) $(LINUX_UTIL) $(MKCPIO) $(LINUX_FILES) $(LINUX_EXTRA_FILES) \
                 $(LINUX_EXTRA_FORCE) guests/linux/linux.mk
	rm -rf $(LINUX_ROOT)
	mkdir -p $(addprefix $(LINUX_ROOT)/,bin sbin usr/bin usr/sbin etc proc sys dev tmp root tests)
	cp $(LINUX_BUSYBOX) $(LINUX_UTIL) $(LINUX_ROOT)/bin/
	install -m 755 guests/linux/init $(LINUX_ROOT)/init
	install -m 644 guests/linux/profile $(LINUX_ROOT)/etc/profile
	install -m 755 $(wildcard guests/linux/tests/*.sh) $(LINUX_ROOT)/tests/
	@for d in $(LINUX_OVERLAY) $(EXTRA); do \
	    if [ -d "$$d" ]; then echo "linux: adding $$d/"; cp -R "$$d/." $(LINUX_ROOT)/; \
	    elif [ "$$d" != $(LINUX_OVERLAY) ]; then echo "linux: EXTRA=$$d is not a directory" >&2; exit 1; fi; \
	done
	$(MKCPIO) $(LINUX_ROOT) guests/linux/initramfs.spec > $(LINUX_OUT)/initramfs.cpio
	gzip -9n < $(LINUX_OUT)/initramfs.cpio > $@.tmp
	mv $@.tmp $@
	@printf '%s\n' '$(LINUX_EXTRA_KEY)' > $(LINUX_EXTRA_STAMP)
	@echo "linux: $(LINUX_KERNEL) ($$(wc -c < $(LINUX_KERNEL)) bytes), $@ ($$(wc -c < $@) bytes)"

run-linux: deps bt86 linux
	@echo "bt86: booting Debian's i386 kernel with a busybox shell ('exit' powers off; Ctrl-A x quits)"
	@./bt86 -m $(LINUX_MEM) -kernel $(LINUX_KERNEL) -initrd $(LINUX_INITRD) \
	  -append "$(LINUX_APPEND)" $(LINUX_RUN_ARGS) $(RUN_ARGS); echo "bt86: exited with status $$?"

run-linux-qemu: deps linux
	qemu-system-i386 -accel tcg -m $(LINUX_MEM) -kernel $(LINUX_KERNEL) -initrd $(LINUX_INITRD) \
	  -append "$(LINUX_APPEND)" -nographic -no-reboot

bench-linux: deps bt86 linux
	bash bench/linux.sh
