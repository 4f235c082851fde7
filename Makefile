# bt86 — build, test, run, bench. `make run` and `make test` install what is
# missing first (scripts/install-deps.sh), so they work on a fresh Debian machine.

CC      ?= cc
CSTD    := -std=c11 -D_GNU_SOURCE
WARN    := -Wall -Wextra -Werror
CFLAGS  ?= -O2 -g
CPPFLAGS := -I. -MMD -MP
LDLIBS  := -lcapstone -lffi -lm
SDL_CFLAGS := $(shell pkg-config --cflags sdl2 2>/dev/null)
SDL_LIBS   := $(shell pkg-config --libs sdl2 2>/dev/null)

SRC_DIRS := cpu memory devices translator frontend
SRCS     := $(foreach d,$(SRC_DIRS),$(wildcard $(d)/*.c))
MAIN_SRC := frontend/main.c
LIB_SRCS := $(filter-out $(MAIN_SRC),$(SRCS))
TEST_SRCS := $(wildcard tests/unit/*.c)

OBJS      := $(SRCS:%.c=build/obj/%.o)
LIB_OBJS  := $(LIB_SRCS:%.c=build/obj/%.o)
SAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
SAN_LIB_OBJS := $(LIB_SRCS:%.c=build/san/%.o)
TEST_OBJS := $(TEST_SRCS:%.c=build/obj/%.o)
SAN_TEST_OBJS := $(TEST_SRCS:%.c=build/san/%.o)

DEPS_STAMP := build/.deps-ok

.PHONY: all deps run test test-unit test-san test-integration bench guests clean fuzz
all: bt86

deps: $(DEPS_STAMP)
$(DEPS_STAMP): scripts/install-deps.sh
	@bash scripts/install-deps.sh
	@mkdir -p build && touch $@

bt86: $(OBJS)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS) $(SDL_LIBS)

build/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(WARN) $(CFLAGS) $(CPPFLAGS) $(SDL_CFLAGS) -c -o $@ $<

build/san/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(WARN) $(SAN_FLAGS) $(CPPFLAGS) $(SDL_CFLAGS) -c -o $@ $<

build/bt86-san: $(SAN_LIB_OBJS) build/san/frontend/main.o
	$(CC) $(SAN_FLAGS) -o $@ $^ $(LDLIBS) $(SDL_LIBS)

build/unit-tests: $(LIB_OBJS) $(TEST_OBJS)
	$(CC) $(CFLAGS) -o $@ $^ -lcriterion $(LDLIBS) $(SDL_LIBS)

build/unit-tests-san: $(SAN_LIB_OBJS) $(SAN_TEST_OBJS)
	$(CC) $(SAN_FLAGS) -o $@ $^ -lcriterion $(LDLIBS) $(SDL_LIBS)

# The VGA console font (frontend/vga_font.c): CP437 glyphs generated from the
# console fonts of Debian's console-setup-linux by scripts/psf2c.c.
FONT_PSF := /usr/share/consolefonts/Uni2-VGA16.psf.gz /usr/share/consolefonts/Ethiopian-Fixed16.psf.gz
build/gen/psf2c: scripts/psf2c.c
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(WARN) -O2 -o $@ $<
build/gen/font8x16.h: build/gen/psf2c $(FONT_PSF)
	build/gen/psf2c $(FONT_PSF) > $@.tmp && mv $@.tmp $@
# vga_font.c falls back to placeholder boxes without the header: generate it first.
build/obj/frontend/vga_font.o build/san/frontend/vga_font.o: build/gen/font8x16.h

include guests/guests.mk
include guests/linux/linux.mk
include fuzz.mk

# The default guest for `make run` (the interactive demo).
# `make run` boots the Linux guest (guests/linux: Debian's i386 kernel and a
# busybox shell); RUN_GUEST=path boots one of bt86's own Multiboot guests
# instead (e.g. RUN_GUEST=build/guests/demo.elf), RUN_ARGS adds options.
RUN_GUEST ?= linux
RUN_ARGS  ?=
ifeq ($(RUN_GUEST),linux)
run: run-linux
else
run: deps bt86 guests
	@echo "bt86: booting $(RUN_GUEST) (Ctrl-A x quits)"
	@./bt86 -kernel $(RUN_GUEST) $(RUN_ARGS); echo "bt86: exited with status $$?"
endif

# Every test: unit tests (plain and under ASan+UBSan), then the integration
# suite that boots every guest (and compares with QEMU where it is installed).
test: deps bt86 build/bt86-san guests build/unit-tests build/unit-tests-san build/bt86-lockstep
	@echo "== unit tests"
	BT86=$(CURDIR)/bt86 GUEST_DIR=$(CURDIR)/build/guests ./build/unit-tests --jobs 2
	@echo "== unit tests under ASan+UBSan"
	ASAN_OPTIONS=detect_leaks=0 BT86=$(CURDIR)/build/bt86-san GUEST_DIR=$(CURDIR)/build/guests ./build/unit-tests-san --jobs 2
	@echo "== integration tests"
	LINUX_SAN=1 BT86=$(CURDIR)/bt86 BT86_SAN=$(CURDIR)/build/bt86-san GUEST_DIR=$(CURDIR)/build/guests bash tests/integration/run.sh
	@echo "== lockstep: translator against interpreter on every guest (make lockstep adds bench and vgademo)"
	LOCKSTEP_SKIP="bench vgademo" bash tests/fuzz/lockstep_guests.sh $(CURDIR)/build/bt86-lockstep $(CURDIR)/build/guests bt,run

# The slower extras: the Linux guest under the interpreter too, and lockstep
# on every guest including the benchmark and the VGA demo.
.PHONY: test-all
test-all: test build/bt86-lockstep
	@echo "== Linux guest under the translator and the interpreter"
	LINUX_ENGINES="bt interp" QEMU=none BT86=$(CURDIR)/bt86 bash tests/integration/linux.sh
	@echo "== lockstep on every guest"
	bash tests/fuzz/lockstep_guests.sh $(CURDIR)/build/bt86-lockstep $(CURDIR)/build/guests bt,run

bench: deps bt86 guests
	bash bench/run.sh

# The VMM microbenchmarks (guests/vmbench) under bt86 bt/interp, QEMU TCG and
# KVM where the host has it, then the -smp scaling and IPI round trip
# (bench/smp.sh); each rewrites its own section of BENCHMARKS.md.
.PHONY: bench-vmm
bench-vmm: deps bt86 guests
	bash bench/vmm.sh
	bash bench/smp.sh

clean:
	rm -rf build bt86

-include $(OBJS:.o=.d) $(SAN_LIB_OBJS:.o=.d) build/san/frontend/main.d $(TEST_OBJS:.o=.d) $(SAN_TEST_OBJS:.o=.d)
