# Vigil - top-level build. The same words work everywhere:
#   make            build the programs (build/vigild, build/vigil)
#   make check      everything CI runs: unit tests (plain and ASan+UBSan),
#                   golden tests, integration tests, a short fuzz run
#   make bench      benchmarks against peers (see docs/benchmarks.md)
#   make fuzz       long fuzzing of every parser (FUZZ_SECONDS per target)
#   make demo       build, generate demo data, start vigild, print the console URL
#   make SAN=address|undefined   build with sanitizers (into build-SAN/)
#   make deps       install the Debian packages the build and tests need
#
# Sources are discovered by wildcard: a new src/*/x.c joins libvigil; a new
# tests/unit/test_x.c becomes a test program; a new tests/fuzz/fuzz_x.c a
# fuzz target. Files named main_*.c are program entry points.

SAN ?=
ifeq ($(SAN),)
BUILD ?= build
SANFLAGS :=
else
BUILD ?= build-$(subst $(comma),-,$(SAN))
SANFLAGS := -fsanitize=$(SAN) -fno-omit-frame-pointer -fno-sanitize-recover=all
endif
comma := ,

CC ?= cc
PKGS := libmicrohttpd libzstd liblz4 libxxhash zlib libcurl sqlite3 libcrypto libpcre2-8 libmaxminddb \
	yaml-0.1
# Hyperscan (x86-64 only) runs the shared Sigma matchers; HYPERSCAN=0 builds
# the portable path (PCRE2 and literal search) that passes the same tests.
HYPERSCAN ?= $(shell pkg-config --exists libhs 2>/dev/null && echo 1 || echo 0)
ifeq ($(HYPERSCAN),1)
PKGS += libhs
HS_DEF := -DVG_HAVE_HYPERSCAN=1
endif
OPT ?= -O2
CFLAGS_BASE := -std=c11 -D_GNU_SOURCE -g $(OPT) -Wall -Wextra -Werror -Wno-unused-parameter \
	-Wno-missing-field-initializers -Wvla -Wformat=2 -fno-strict-aliasing -pthread \
	$(filter-out -I/usr/include/x86_64-linux-gnu,$(shell pkg-config --cflags $(PKGS) 2>/dev/null)) -Isrc -I$(BUILD)/gen $(HS_DEF)
CFLAGS_ALL := $(CFLAGS_BASE) $(SANFLAGS) $(CFLAGS)
LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -levtx -lexpat -lm -pthread
LDFLAGS_ALL := $(SANFLAGS) $(LDFLAGS)

LIB_SRC := $(filter-out $(wildcard src/*/main_*.c), $(wildcard src/*/*.c))
LIB_OBJ := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(LIB_SRC)) $(BUILD)/obj/gen/vg_schema_data.o
PROGS := $(BUILD)/vigild $(BUILD)/vigil $(BUILD)/vigil-agent
# the agent alone links nftables (isolation) and YARA (scans)
AGENT_LIBS := $(shell pkg-config --libs libnftables yara 2>/dev/null)
TEST_SRC := $(wildcard tests/unit/test_*.c)
TESTS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(TEST_SRC))
BENCH_SRC := $(wildcard bench/*.c)
BENCH_BINS := $(patsubst bench/%.c,$(BUILD)/bench/%,$(BENCH_SRC))
TOOL_SRC := $(wildcard tests/tools/*.c)
TOOLS := $(patsubst tests/tools/%.c,$(BUILD)/tools/%,$(TOOL_SRC))
SCHEMA_TSV := schema/advanced-hunting-columns.tsv schema/vigil-extra-columns.tsv

.PHONY: print-libs all rules sigma-regression check check-unit check-san check-golden check-integration check-fuzz bench bench-hunt bench-detect bench-incidents bench-agent fuzz demo deps clean lint
all: $(PROGS) $(TOOLS)

$(BUILD)/gen/vg_schema_data.c: src/schema/gen_schema.awk $(SCHEMA_TSV)
	@mkdir -p $(@D)
	awk -f src/schema/gen_schema.awk $(SCHEMA_TSV) > $@.tmp && mv $@.tmp $@

$(BUILD)/obj/gen/vg_schema_data.o: $(BUILD)/gen/vg_schema_data.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -Isrc/schema -c $< -o $@

$(BUILD)/obj/%.o: src/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -MMD -MP -c $< -o $@

$(BUILD)/libvigil.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/vigild: $(BUILD)/obj/server/main_vigild.o $(BUILD)/libvigil.a
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS)

$(BUILD)/vigil: $(BUILD)/obj/cli/main_vigil.o $(BUILD)/libvigil.a
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS)

$(BUILD)/vigil-agent: $(BUILD)/obj/agent/main_agent.o $(BUILD)/libvigil.a
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS) $(AGENT_LIBS)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libvigil.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -o $@ $< $(BUILD)/libvigil.a $(LIBS) $(AGENT_LIBS) -lcmocka $(LDFLAGS_ALL)

$(BUILD)/bench/%: bench/%.c $(BUILD)/libvigil.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -o $@ $< $(BUILD)/libvigil.a $(LIBS) $(LDFLAGS_ALL)

$(BUILD)/tools/%: tests/tools/%.c $(BUILD)/libvigil.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -o $@ $< $(BUILD)/libvigil.a $(LIBS) $(LDFLAGS_ALL)

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

# ---- tests ----
check: deps lint check-unit check-san check-golden sigma-regression check-integration check-fuzz
	@echo "make check: all suites passed"

check-unit: $(PROGS) $(TOOLS) $(TESTS)
	@tests/run-unit.sh $(BUILD)

check-san:
	$(MAKE) SAN=address,undefined OPT=-O1 check-unit

check-golden: $(PROGS) $(TOOLS)
	@tests/golden/run.sh $(BUILD)
	@tests/golden/run-hunt.py $(BUILD)
	@HUNT_ARGS="--threads 3 --parallel-min-rows 1" tests/golden/run-hunt.py $(BUILD)
	@tests/golden/run-detect.py $(BUILD)
	@tests/golden/run-incidents.py $(BUILD)

# SigmaHQ's regression suite (../shared/data/sigma/regression_data), both matchers
sigma-regression: $(PROGS)
	@tests/sigma/regression.sh $(BUILD)

# the default rule pack: ./rules/sigma -> the SigmaHQ corpus (SIGMA=DIR to choose)
SIGMA ?= ../shared/data/sigma
rules:
	@mkdir -p rules/sigma
	@for d in rules rules-threat-hunting rules-emerging-threats; do \
	    [ -d "$(SIGMA)/$$d" ] && ln -sfn "$$(cd "$(SIGMA)/$$d" && pwd)" "rules/sigma/$$d"; done; true
	@echo "rules: the default pack is in ./rules/sigma ($$(find -L rules/sigma -name '*.yml' | wc -l) rule files)"

check-integration: $(PROGS) $(TOOLS)
	@tests/integration/run.sh $(BUILD)

check-fuzz:
	@tests/fuzz/run.sh short

fuzz:
	@tests/fuzz/run.sh long

bench: $(PROGS) $(TOOLS) $(BENCH_BINS)
	@bench/run.sh $(BUILD)
	@bench/hunt.sh $(BUILD)
	@bench/detect.sh $(BUILD)
	@bench/incidents.sh $(BUILD)
	@bench/agent.sh $(BUILD)

# the hunting (KQL) benchmark alone; BENCH_HUNT_ROWS=200000 for a quick run
bench-hunt: $(PROGS)
	@bench/hunt.sh $(BUILD)

# the detection (Sigma) benchmark alone; BENCH_DETECT_ROWS=100000 for a quick run
bench-detect: $(BUILD)/bench/detect
	@bench/detect.sh $(BUILD)

# the incident benchmark alone: correlation with 100k open incidents, and the
# time from an event's ingestion to its incident (BENCH_INC_OPEN=10000 quick)
bench-incidents: $(PROGS) $(BUILD)/bench/incidents
	@bench/incidents.sh $(BUILD)

# the agent benchmark alone (root): CPU and RSS idle and under an exec storm
# (BENCH_AGENT_IDLE=10 BENCH_AGENT_STORM=5 for a quick run)
bench-agent: $(PROGS) $(BUILD)/bench/exec_storm
	@bench/agent.sh $(BUILD)

demo: deps
	@$(MAKE) --no-print-directory all rules
	@scripts/demo.sh $(BUILD)

demo-only: $(PROGS)
	@scripts/demo.sh $(BUILD)

deps:
	@scripts/install-deps.sh

lint:
	@scripts/lint.sh

clean:
	rm -rf build build-*

print-libs:
	@echo $(LIBS)
