# The engine-comparison fuzzer (tests/fuzz/, docs/TESTING.md). Included from
# the Makefile: `make fuzz` builds build/bt86-fuzz and runs FUZZ_N cases from
# FUZZ_SEED under FUZZ_ENGINES (default: bt,run when the translator is
# linked, else run,step). `make lockstep` runs every built guest under two
# engines in lockstep (build/bt86-lockstep).

FUZZ_SEED    ?= 1
FUZZ_N       ?= 100000
FUZZ_ENGINES ?=
FUZZ_ARGS    ?=
FUZZ_SRCS    := $(wildcard tests/fuzz/*.c)
FUZZ_TOOL_SRCS := tests/fuzz/main.c tests/fuzz/lockstep_guest.c
FUZZ_COMMON_OBJS := $(patsubst %.c,build/obj/%.o,$(filter-out $(FUZZ_TOOL_SRCS),$(FUZZ_SRCS)))

build/bt86-fuzz: $(LIB_OBJS) $(FUZZ_COMMON_OBJS) build/obj/tests/fuzz/main.o
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS) $(SDL_LIBS)

build/bt86-lockstep: $(LIB_OBJS) build/obj/tests/fuzz/lockstep_guest.o
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS) $(SDL_LIBS)

fuzz: deps build/bt86-fuzz
	./build/bt86-fuzz -seed $(FUZZ_SEED) -n $(FUZZ_N) $(if $(FUZZ_ENGINES),-engines $(FUZZ_ENGINES)) $(FUZZ_ARGS)

LOCKSTEP_ENGINES ?=
lockstep: deps build/bt86-lockstep guests
	bash tests/fuzz/lockstep_guests.sh $(CURDIR)/build/bt86-lockstep $(CURDIR)/build/guests $(LOCKSTEP_ENGINES)

.PHONY: fuzz lockstep

-include $(FUZZ_COMMON_OBJS:.o=.d) build/obj/tests/fuzz/main.d build/obj/tests/fuzz/lockstep_guest.d
