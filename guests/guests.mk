# Guest kernels: bt86's own Multiboot v1 test and benchmark guests, built with
# the host gcc as freestanding 32-bit ELF images (they also boot under
# qemu-system-i386 -kernel). Included by the top-level Makefile.

GUEST_CC      := gcc
GUEST_LD      := ld
GUEST_CFLAGS  := -m32 -march=i686 -ffreestanding -fno-pic -fno-pie -fno-stack-protector \
                 -nostdlib -O2 -mgeneral-regs-only -fno-asynchronous-unwind-tables \
                 -fno-tree-loop-distribute-patterns -std=gnu11 -Wall -Wextra -Werror -g
GUEST_LDFLAGS := -m elf_i386 -nostdlib -static --no-warn-rwx-segments -T guests/lib/guest.ld
GUEST_LIBGCC   = $(shell $(GUEST_CC) -m32 -print-libgcc-file-name)

GUEST_OUT   := build/guests
GUEST_OBJ   := build/guests/obj
GUEST_NAMES := hello demo cpu bench failcheck
GUEST_ELFS  := $(GUEST_NAMES:%=$(GUEST_OUT)/%.elf)
GUEST_DEMO  := $(GUEST_OUT)/demo.elf

GUEST_LIB_SRCS := $(wildcard guests/lib/*.c)
GUEST_LIB_OBJS := $(GUEST_LIB_SRCS:%.c=$(GUEST_OBJ)/%.o) $(GUEST_OBJ)/guests/lib/boot.o

.PHONY: guests
guests: $(GUEST_ELFS)

$(GUEST_OBJ)/%.o: %.c
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_CFLAGS) -MMD -MP -c -o $@ $<

$(GUEST_OBJ)/%.o: %.S
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_CFLAGS) -MMD -MP -c -o $@ $<

# Each guest is every .c file in guests/<name>/ plus the runtime.
define GUEST_template
$(GUEST_OUT)/$(1).elf: $$(patsubst %.c,$(GUEST_OBJ)/%.o,$$(wildcard guests/$(1)/*.c)) $$(GUEST_LIB_OBJS) guests/lib/guest.ld
	@mkdir -p $$(dir $$@)
	$$(GUEST_LD) $$(GUEST_LDFLAGS) -o $$@ $$(filter %.o,$$^) $$(GUEST_LIBGCC)
endef
$(foreach g,$(GUEST_NAMES),$(eval $(call GUEST_template,$(g))))

# The benchmark kernels built natively for the host, for the "native" column:
# 32-bit non-PIE like the guest if the host can build it, else 64-bit.
BENCH_NATIVE := build/bench-native
BENCH_NATIVE_SRCS := bench/native.c guests/bench/kernels.c
BENCH_NATIVE_FLAGS := -O2 -fno-tree-loop-distribute-patterns -std=gnu11 -Wall -Wextra -Werror
$(BENCH_NATIVE): $(BENCH_NATIVE_SRCS) guests/bench/kernels.h
	@mkdir -p $(dir $@)
	@$(GUEST_CC) -m32 -march=i686 -fno-pie -no-pie $(BENCH_NATIVE_FLAGS) -o $@ $(BENCH_NATIVE_SRCS) 2>/dev/null \
	  && echo "built $@ (native, -m32)" \
	  || { $(GUEST_CC) $(BENCH_NATIVE_FLAGS) -o $@ $(BENCH_NATIVE_SRCS) && echo "built $@ (native, -m64)"; }

-include $(shell find $(GUEST_OBJ) -name '*.d' 2>/dev/null)

# System-level test guests (modes, exceptions, interrupts, apic, paging,
# usermode, x87, tasks): each links every .c and .S file in guests/<name>/, the
# runtime, and guests/lib/sys (GDT/IDT/TSS, trap stubs, ring-3 entry).
# Every guests/<name>/ directory not listed as special below is a system guest.
SYS_GUEST_SPECIAL := lib hello demo cpu bench failcheck bootsector vgademo biosrom
SYS_GUEST_ALL   := $(filter-out $(SYS_GUEST_SPECIAL),$(notdir $(patsubst %/,%,$(wildcard guests/*/))))
# (only those whose directory has sources, so a half-written one can't break the build)
SYS_GUEST_NAMES := $(foreach g,$(SYS_GUEST_ALL),$(if $(wildcard guests/$(g)/*.c),$(g)))
SYS_GUEST_ELFS  := $(SYS_GUEST_NAMES:%=$(GUEST_OUT)/%.elf)
SYS_LIB_OBJS    := $(patsubst %.c,$(GUEST_OBJ)/%.o,$(wildcard guests/lib/sys/*.c)) \
                   $(patsubst %.S,$(GUEST_OBJ)/%.o,$(wildcard guests/lib/sys/*.S))
# The demo is interrupt driven: it also links the sys runtime (IDT, IRQ stubs).
$(GUEST_DEMO): $(SYS_LIB_OBJS)

define SYS_GUEST_template
$(GUEST_OUT)/$(1).elf: $$(patsubst %.c,$(GUEST_OBJ)/%.o,$$(wildcard guests/$(1)/*.c)) \
                       $$(patsubst %.S,$(GUEST_OBJ)/%.o,$$(wildcard guests/$(1)/*.S)) \
                       $$(GUEST_LIB_OBJS) $$(SYS_LIB_OBJS) guests/lib/guest.ld
	@mkdir -p $$(dir $$@)
	$$(GUEST_LD) $$(GUEST_LDFLAGS) -o $$@ $$(filter %.o,$$^) $$(GUEST_LIBGCC)
endef
$(foreach g,$(SYS_GUEST_NAMES),$(eval $(call SYS_GUEST_template,$(g))))

guests: $(SYS_GUEST_ELFS)
include guests/bootsector/bootsector.mk
include guests/biosrom/biosrom.mk

# The -display sdl demo: coloured VGA text and keyboard echo (not part of the
# headless integration suite; run with ./bt86 -display sdl -kernel ...).
$(eval $(call GUEST_template,vgademo))
guests: $(GUEST_OUT)/vgademo.elf
