# IMMUNE: `make` builds build/immuned and build/immunectl; `make check` runs every test.
# `make asan` builds the same into build/asan with ASan/UBSan.

BUILD    ?= build
CC       ?= gcc
CLANG    ?= clang
BPFTOOL  ?= bpftool
ARCH     := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')
VERSION  := $(shell git describe --always --dirty 2>/dev/null || echo 0.1)

WARN     := -Wall -Wextra -Werror
# V=1 shows the commands
ifneq ($(V),1)
Q        := @
msg       = @printf '  %-8s %s\n' $(1) $(2)
else
msg       =
endif
OPT      ?= -O2 -g
# CFLAGS from the command line is added to, not replaced: the defines are needed
override CFLAGS += $(OPT) $(WARN) -std=gnu11 -D_GNU_SOURCE -I$(BUILD) -Ibpf -Idaemon -DIMMUNE_VERSION='"$(VERSION)"'
LDLIBS   := -lbpf -lelf -lz -lsqlite3 -lcjson -lpcre2-8 -lyaml -lssl -lcrypto -lpthread
BPFCFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) $(WARN) -Wno-unused-function -Wno-unused-parameter -I$(BUILD) -Ibpf

ifeq ($(SAN),1)
override CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS  += -fsanitize=address,undefined
endif

BPF_SRCS    := $(wildcard bpf/*.bpf.c)
BPF_OBJS    := $(patsubst bpf/%.bpf.c,$(BUILD)/%.bpf.o,$(BPF_SRCS))
SKELS       := $(patsubst bpf/%.bpf.c,$(BUILD)/%.skel.h,$(BPF_SRCS))
DAEMON_SRCS := $(wildcard daemon/*.c)
HIVE_SRCS   := $(wildcard hive/*.c)
DAEMON_OBJS := $(patsubst daemon/%.c,$(BUILD)/daemon/%.o,$(DAEMON_SRCS)) $(BUILD)/daemon/rules_builtin.o $(BUILD)/daemon/rules_sigma.o $(BUILD)/daemon/rules_policy.o \
	       $(patsubst hive/%.c,$(BUILD)/hive/%.o,$(HIVE_SRCS))
LIB_OBJS    := $(filter-out $(BUILD)/daemon/main.o,$(DAEMON_OBJS))
CTL_SRCS    := $(wildcard ctl/*.c)
TEST_SRCS   := $(wildcard tests/test_*.c)
TESTS       := $(patsubst tests/%.c,$(BUILD)/tests/%,$(TEST_SRCS))
SELFTEST_SRCS := $(wildcard selftests/*.c)
SELFTESTS   := $(patsubst selftests/%.c,$(BUILD)/selftests/%,$(SELFTEST_SRCS))
TOOL_SRCS   := $(wildcard selftests/tools/*.c)
TOOLS       := $(patsubst selftests/tools/%.c,$(BUILD)/tools/%,$(TOOL_SRCS))
BENCH_SRCS  := $(wildcard bench/*.c)
BENCHES     := $(patsubst bench/%.c,$(BUILD)/bench/%,$(BENCH_SRCS))

.PHONY: all clean test selftest selftest-host selftest-vm check asan bench quality
.DELETE_ON_ERROR:
# skeletons and BPF objects are intermediates make would delete, and then rebuild everything
.SECONDARY:

all: $(BUILD)/immuned $(BUILD)/immunectl $(TESTS) $(SELFTESTS) $(BENCHES) $(TOOLS)

$(BUILD)/vmlinux.h:
	@mkdir -p $(@D)
	$(call msg,VMLINUX,$@)
	$(Q)$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@

$(BUILD)/%.bpf.o: bpf/%.bpf.c $(wildcard bpf/*.h) $(BUILD)/vmlinux.h
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPFCFLAGS) -c $< -o $@

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@

$(BUILD)/daemon/%.o: daemon/%.c $(wildcard daemon/*.h) bpf/immune.h $(SKELS)
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

# The fleet's Hive server: `immuned --role hive`, linked into the same binary.
$(BUILD)/hive/%.o: hive/%.c $(wildcard daemon/*.h) $(wildcard hive/*.h)
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Ihive -c $< -o $@

$(BUILD)/daemon/rules_builtin.c: rules/embed.sh $(wildcard rules/builtin/*.yml rules/correlations/*.yml)
	@mkdir -p $(@D)
	$(call msg,EMBED,$@)
	$(Q)rules/embed.sh $@ imm_builtin_rules rules/builtin rules/correlations

# The vendored SigmaHQ Linux rules (rules/sigma/, refreshed by rules/sigma-refresh.sh), shipped in the binary.
SIGMA_YML   := $(sort $(shell find rules/sigma -name '*.yml' 2>/dev/null))
$(BUILD)/daemon/rules_sigma.c: rules/embed.sh $(SIGMA_YML)
	@mkdir -p $(@D)
	$(call msg,EMBED,$@)
	$(Q)rules/embed.sh $@ imm_sigma_rules rules/sigma

# The shipped tuning of the shipped rules (rules/policy/): levels and exceptions, each with its reason.
$(BUILD)/daemon/rules_policy.c: rules/embed.sh $(wildcard rules/policy/*.yml)
	@mkdir -p $(@D)
	$(call msg,EMBED,$@)
	$(Q)rules/embed.sh $@ imm_policy_files rules/policy

# The embedded rule sources alone: fuzz/run builds them with BUILD=build/fuzz, so the list above is the only one.
EMBEDDED    := $(BUILD)/daemon/rules_builtin.c $(BUILD)/daemon/rules_sigma.c $(BUILD)/daemon/rules_policy.c
.PHONY: embedded
embedded: $(EMBEDDED)

$(BUILD)/daemon/rules_%.o: $(BUILD)/daemon/rules_%.c
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/immuned: $(DAEMON_OBJS)
	$(call msg,CC,$@)
	$(Q)$(CC) $(LDFLAGS) $^ -o $@ $(LDLIBS)

# immunectl speaks the socket protocol and the verdict vocabulary, nothing of the daemon
CTL_OBJS    := $(BUILD)/daemon/verdict_target.o $(BUILD)/daemon/jsonw.o
$(BUILD)/immunectl: $(CTL_SRCS) $(wildcard daemon/*.h) $(CTL_OBJS)
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $(CTL_SRCS) $(CTL_OBJS) -o $@ -lcjson

$(BUILD)/tests/%: tests/%.c $(wildcard tests/*.h) $(LIB_OBJS)
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Itests $(LDFLAGS) $< $(LIB_OBJS) -o $@ $(LDLIBS) -lcmocka

$(BUILD)/selftests/%: selftests/%.c $(wildcard selftests/*.h) $(LIB_OBJS)
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Iselftests $(LDFLAGS) $< $(LIB_OBJS) -o $@ $(LDLIBS) -lcmocka

# Small static helpers the selftests run on the host and inside the VM.
$(BUILD)/tools/%: selftests/tools/%.c
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) -O2 -g $(WARN) -D_GNU_SOURCE -static $< -o $@

$(BUILD)/bench/%: bench/%.c $(LIB_OBJS) $(SKELS)
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $< $(LIB_OBJS) -o $@ $(LDLIBS)

# Unit tests: no root, no BPF.
test: $(TESTS) $(BUILD)/immunectl
	@tests/run-unit $(TESTS)

# Live-kernel tests: root and BPF; say SKIPPED and why otherwise.
selftest: selftest-host selftest-vm

selftest-host: all
	@selftests/run-host $(BUILD)

selftest-vm: all
	@selftests/vm/run $(BUILD)

# The README's test command: everything, ending with one summary line.
check: all asan
	@tests/run-all $(BUILD)

bench: all
	@bench/run $(BUILD)

# Detection quality: the daemon's defaults over selftests/attack and selftests/benign
# (root); prints recall (per scenario set and in all) and noise per rule. QUALITY_FLOORS="--min-recall 90 --max-noise 0" asserts.
quality: $(BUILD)/immuned $(BUILD)/immunectl
	@selftests/quality/run $(BUILD) $(QUALITY_FLOORS)

asan:
	$(MAKE) BUILD=build/asan SAN=1 OPT="-O1 -g" all

clean:
	rm -rf build
include packaging/packaging.mk
