# geoalarm: one non-recursive GNU Makefile.
#
# Sources are found by folder: every lib/*.c goes into build/libgeoalarm.a,
# every ingest/, engine/, rules/ and cli/ file except the folder's main.c
# into that folder's archive, so the CLI and the tests link the same objects
# the daemons use.  Unit tests are tests/unit/<dir>/test_<file>.c, one
# binary each; tools (fleet simulator, test peers) are tests/tools/*.c.

PKGS     := libevent libevent_extra hiredis lua5.4 geos jansson
WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
            -Wmissing-prototypes -Wwrite-strings -Wformat=2 -Wundef
CSTD     := -std=c11 -D_GNU_SOURCE
OPT      ?= -O2 -g
BUILD    ?= build
BIN      ?= bin
SANITIZE ?=

# geos-config is what Debian's libgeos-dev ships; its pkg-config file is
# present too (geos.pc) but we fall back to geos-config if it is not.
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
TEST_LIBS  := $(shell pkg-config --libs cmocka 2>/dev/null)

CFLAGS   := $(CSTD) $(OPT) $(WARN) $(SANITIZE) -I. $(PKG_CFLAGS) -MMD -MP
LDFLAGS  := $(SANITIZE)
LDLIBS   := $(PKG_LIBS) -lm

dir_srcs  = $(filter-out $(1)/main.c,$(wildcard $(1)/*.c))
objs      = $(patsubst %.c,$(BUILD)/%.o,$(1))

LIB_OBJS    := $(call objs,$(wildcard lib/*.c))
INGEST_OBJS := $(call objs,$(call dir_srcs,ingest))
ENGINE_OBJS := $(call objs,$(call dir_srcs,engine))
RULES_OBJS  := $(call objs,$(call dir_srcs,rules))
CLI_OBJS    := $(call objs,$(call dir_srcs,cli))

ARCHIVES := $(BUILD)/libengine.a $(BUILD)/librules.a $(BUILD)/libingest.a \
            $(BUILD)/libgeoalarm.a
# The folders call each other (the CLI uses the decoders and the fences,
# the engine the rules), so link the archives as one group.
LINK_ARCHIVES := -Wl,--start-group $(ARCHIVES) -Wl,--end-group

PROGS := $(BIN)/geoalarm-ingest
ifneq ($(wildcard engine/main.c),)
PROGS += $(BIN)/geoalarm-engine
endif
ifneq ($(wildcard cli/main.c),)
PROGS += $(BIN)/geoalarm
endif

TEST_SRCS := $(wildcard tests/unit/*/test_*.c)
TESTS     := $(patsubst %.c,$(BUILD)/%,$(TEST_SRCS))
TOOL_SRCS := $(wildcard tests/tools/*.c)
TOOLS     := $(patsubst tests/tools/%.c,$(BUILD)/tools/%,$(TOOL_SRCS))

.PHONY: all deps run test unit asan bench fuzz clean
# Keep the objects of test and tool binaries (make would delete them as
# intermediate files and rebuild them every time).
.SECONDARY:
all: $(PROGS) $(TESTS) $(TOOLS)

deps:
	@scripts/deps.sh

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/libgeoalarm.a: $(LIB_OBJS)
$(BUILD)/libingest.a: $(INGEST_OBJS)
$(BUILD)/libengine.a: $(ENGINE_OBJS)
$(BUILD)/librules.a: $(RULES_OBJS)
$(BUILD)/libcli.a: $(CLI_OBJS)
$(BUILD)/lib%.a:
	@mkdir -p $(dir $@)
	rm -f $@
	$(AR) rcs $@ $^

$(BIN)/geoalarm-ingest: $(BUILD)/ingest/main.o $(ARCHIVES)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(LINK_ARCHIVES) $(LDLIBS)

$(BIN)/geoalarm-engine: $(BUILD)/engine/main.o $(ARCHIVES)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(LINK_ARCHIVES) $(LDLIBS)

$(BIN)/geoalarm: $(BUILD)/cli/main.o $(BUILD)/libcli.a $(ARCHIVES)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< -Wl,--start-group $(BUILD)/libcli.a $(ARCHIVES) -Wl,--end-group $(LDLIBS)

$(BUILD)/tests/unit/%: $(BUILD)/tests/unit/%.o $(ARCHIVES)
	$(CC) $(LDFLAGS) -o $@ $< $(LINK_ARCHIVES) $(LDLIBS) $(TEST_LIBS)

# The CLI's tests also link the CLI's own objects.
$(BUILD)/tests/unit/cli/%: $(BUILD)/tests/unit/cli/%.o $(BUILD)/libcli.a $(ARCHIVES)
	$(CC) $(LDFLAGS) -o $@ $< -Wl,--start-group $(BUILD)/libcli.a $(ARCHIVES) -Wl,--end-group $(LDLIBS) $(TEST_LIBS)

$(BUILD)/tools/%: $(BUILD)/tests/tools/%.o $(ARCHIVES)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(LINK_ARCHIVES) $(LDLIBS)

# `make test` installs what is missing, builds, and runs every unit and
# end-to-end test; the runner prints cmocka's summaries and a total line.
test: deps
	$(MAKE) all
	scripts/run-tests.sh $(BUILD) $(BIN)

unit: all
	scripts/run-tests.sh --unit $(BUILD) $(BIN)

asan: deps
	$(MAKE) BUILD=build-asan BIN=build-asan/bin OPT="-O1 -g" \
	  SANITIZE="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" all
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  scripts/run-tests.sh build-asan build-asan/bin

bench: deps
	$(MAKE) all
	scripts/bench.sh $(BUILD) $(BIN)

run: deps
	$(MAKE) all
	scripts/run.sh $(BIN)

# libFuzzer harnesses over the framers, detection and both decoders
# (tests/fuzz/); needs clang.  Each runs FUZZ_SECONDS, seeded with the raw
# frames in tests/data/, keeping its corpus in build-fuzz/.
FUZZ_SECONDS ?= 30
FUZZ_SRCS    := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_LINK    := $(filter-out %/main.c,$(wildcard ingest/*.c lib/*.c))
fuzz: deps
	@command -v clang >/dev/null || { echo "fuzz: needs clang (apt-get install clang)" >&2; exit 1; }
	@mkdir -p build-fuzz
	@for f in $(FUZZ_SRCS); do n=$$(basename $$f .c); \
	  echo "fuzz: $$n for $(FUZZ_SECONDS) s"; \
	  clang $(CSTD) -I. $(PKG_CFLAGS) -g -O1 -fsanitize=fuzzer,address,undefined \
	    $$f $(FUZZ_LINK) $(PKG_LIBS) -lm -o build-fuzz/$$n || exit 1; \
	  mkdir -p build-fuzz/corpus-$$n; \
	  build-fuzz/$$n -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	    build-fuzz/corpus-$$n tests/data/tk103 tests/data/gps103 2>build-fuzz/$$n.log \
	    || { tail -40 build-fuzz/$$n.log; exit 1; }; \
	  grep -E 'stat::number_of_executed_units' build-fuzz/$$n.log; \
	done

clean:
	rm -rf build build-asan build-fuzz bin var bench-data

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
