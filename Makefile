# SPDX-License-Identifier: BSD-2-Clause
# greywall: greylisting at the packet layer.
#
#   make deps    install the Debian 12 packages the build and tests need
#   make         build libraries, tools and tests
#   make test    deps + build + every test (unit, multi-process, BPF compile, fuzz smoke)
#   make fuzz    long libFuzzer runs (FUZZ_SECONDS per target, default 600)
#   make bench   benchmarks, printed as ratios against the reference implementations
#   make demo    deps + build + the namespace testbed demo

CC       ?= gcc
CLANG    ?= clang
BUILD    ?= build
CFLAGS   ?= -O2 -g
CFLAGS   += -std=gnu11 -Wall -Wextra -Werror -Wno-unused-function -Iinclude -D_GNU_SOURCE
DPDK_CFLAGS = $(shell pkg-config --cflags libdpdk 2>/dev/null)
DPDK_LIBS   = $(shell pkg-config --libs libdpdk 2>/dev/null)

DEB_PACKAGES = build-essential clang llvm libclang-rt-14-dev pkg-config libcmocka-dev \
	libdpdk-dev dpdk dpdk-dev libbpf-dev bpftool libelf-dev zlib1g-dev libjemalloc-dev libpcap-dev \
	postfix postgrey swaks ethtool iproute2 iputils-ping tcpdump procps python3 \
	libidn12 libgnutls-dane0 jq libhiredis-dev redis-server libpq-dev postgresql

LIB_SRCS = lib/trusted_file.c lib/smtp_stream.c lib/address_long.c lib/decide_rcpt.c lib/table_file.c lib/table_bpf.c lib/dp_shm.c lib/lists.c lib/reply.c lib/maintenance.c
LIB_OBJS = $(LIB_SRCS:%.c=$(BUILD)/%.o)
LIB      = $(BUILD)/libgreywall.a

UNIT_TESTS = siphash normalize smtp_command smtp_stream table policy lists reply table_file seqmap \
	maintenance names dp_shm table_merge
UNIT_BINS  = $(UNIT_TESTS:%=$(BUILD)/tests/unit/test_%) $(BUILD)/tests/unit/table_multiproc

DP_TEST_BIN = $(BUILD)/tests/unit/test_dataplane_engine

CTL_SRCS = control/config.c control/policy_server.c control/admin.c control/relay_maps.c \
	control/names.c control/report.c control/relay_events.c control/privdrop.c \
	control/verdict_log.c control/dp_link.c
CTL_OBJS = $(CTL_SRCS:%.c=$(BUILD)/%.o)
# greywalld's alone: Redis and PostgreSQL stay out of greyctl, the unit tests and the fuzzers
CLUSTER_SRCS = control/cluster.c control/lists_pg.c
CLUSTER_OBJS = $(CLUSTER_SRCS:%.c=$(BUILD)/%.o)
$(BUILD)/control/lists_pg.o: CFLAGS += $(shell pkg-config --cflags libpq 2>/dev/null)
DAEMON_BIN = $(BUILD)/greywalld $(BUILD)/greyctl
CTL_TEST_BIN = $(BUILD)/tests/unit/test_control

FUZZ_TARGETS = smtp_stream smtp_command normalize reassembler policy_request config lists snapshot
FUZZ_BINS    = $(FUZZ_TARGETS:%=$(BUILD)/tests/fuzz/fuzz_%)
FUZZ_SECONDS ?= 600

BENCH_BINS = $(BUILD)/tools/bench/table_bench $(BUILD)/tools/bench/sweep_bench \
	$(BUILD)/tools/bench/cluster_bench

DP_SRCS = dataplane/main.c dataplane/options.c dataplane/stats.c dataplane/flow.c \
	dataplane/engine.c dataplane/dispatch.c dataplane/client_stream.c \
	dataplane/server_stream.c dataplane/verdict.c dataplane/inject.c dataplane/segment.c \
	dataplane/seqmap.c dataplane/reorder.c
DP_OBJS = $(DP_SRCS:%.c=$(BUILD)/%.o)
DP_BIN  = $(BUILD)/greywall-dp

.PHONY: all deps test unit fuzz fuzz-smoke bench demo clean format bpf-check bpf bpf-verify

all: $(LIB) $(UNIT_BINS) $(BENCH_BINS) $(DP_BIN) $(DP_TEST_BIN) $(DAEMON_BIN) $(CTL_TEST_BIN) \
	$(BUILD)/tools/bench/policy_load $(BUILD)/tools/smtp_pcap bpf

deps:
	@tools/deps.sh $(DEB_PACKAGES)

$(BUILD)/%.o: %.c $(wildcard include/greywall/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/dataplane/%.o: dataplane/%.c $(wildcard dataplane/*.h include/greywall/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(DPDK_CFLAGS) -c $< -o $@

$(DP_BIN): $(DP_OBJS) $(LIB)
	$(CC) $(DP_OBJS) -o $@ $(LIB) $(DPDK_LIBS) -ljemalloc

$(DP_TEST_BIN): tests/dataplane/test_engine.c $(filter-out $(BUILD)/dataplane/main.o,$(DP_OBJS)) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(DPDK_CFLAGS) $< $(filter-out $(BUILD)/dataplane/main.o,$(DP_OBJS)) \
		-o $@ $(LIB) $(DPDK_LIBS) -lcmocka

$(BUILD)/greywalld: $(BUILD)/control/greywalld.o $(CTL_OBJS) $(CLUSTER_OBJS) $(LIB)
	$(CC) $^ -o $@ -lbpf -ljemalloc -lhiredis -lpq -lpthread

$(BUILD)/greyctl: $(BUILD)/control/greyctl.o $(CTL_OBJS) $(LIB)
	$(CC) $^ -o $@ -lbpf

$(CTL_TEST_BIN): tests/unit/test_control.c $(CTL_OBJS) $(LIB) tests/unit/unit.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $< $(CTL_OBJS) -o $@ $(LIB) -lbpf -lcmocka

$(BUILD)/tools/smtp_pcap: tools/smtp_pcap.c tests/bpf/tcp_frame.h $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/bpf $< -o $@ $(LIB)

$(BUILD)/tools/bench/policy_load: tools/bench/policy_load.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $< -o $@ -lpthread

$(LIB): $(LIB_OBJS)
	$(AR) rcs $@ $^

$(BUILD)/tests/unit/test_names: tests/unit/test_names.c control/names.c control/names.h tests/unit/unit.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $< control/names.c -o $@ -lcmocka

$(BUILD)/tests/unit/test_seqmap: tests/unit/test_seqmap.c dataplane/seqmap.c dataplane/seqmap.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $< dataplane/seqmap.c -o $@ -lcmocka

$(BUILD)/tests/unit/%: tests/unit/%.c $(LIB) tests/unit/unit.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $< -o $@ $(LIB) -lcmocka

$(BUILD)/tests/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(LIB_SRCS) $(wildcard include/greywall/*.h)
	@mkdir -p $(dir $@)
	$(CLANG) -g -O1 -Iinclude -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=undefined $< $(LIB_SRCS) -o $@

# The policy request and config targets are greywalld's own code, built with the sanitizers.
FUZZ_CTL_BINS = $(BUILD)/tests/fuzz/fuzz_policy_request $(BUILD)/tests/fuzz/fuzz_config
$(FUZZ_CTL_BINS): $(BUILD)/tests/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(CTL_SRCS) $(LIB_SRCS) \
		$(wildcard control/*.h include/greywall/*.h)
	@mkdir -p $(dir $@)
	$(CLANG) -g -O1 -Iinclude -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=undefined $< $(CTL_SRCS) $(LIB_SRCS) -o $@ -lbpf

# The reassembler target is greywall-dp's engine itself, built with the sanitizers.
FUZZ_DP_SRCS = $(filter-out dataplane/main.c,$(DP_SRCS))
$(BUILD)/tests/fuzz/fuzz_reassembler: tests/fuzz/fuzz_reassembler.c $(FUZZ_DP_SRCS) $(LIB_SRCS) \
		$(wildcard dataplane/*.h include/greywall/*.h)
	@mkdir -p $(dir $@)
	$(CLANG) -g -O1 -Iinclude -D_GNU_SOURCE $(DPDK_CFLAGS) -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=undefined $< $(FUZZ_DP_SRCS) $(LIB_SRCS) -o $@ $(DPDK_LIBS)

$(BUILD)/tests/bpf/shared_headers.bpf.o: tests/bpf/shared_headers.bpf.c $(wildcard include/greywall/*.h)
	@mkdir -p $(dir $@)
	$(CLANG) -target bpf -mcpu=v3 -O2 -g -Wall -Werror -fno-builtin -ffreestanding -Iinclude \
		-I/usr/include/$(shell uname -m)-linux-gnu -c $< -o $@

bpf-check: $(BUILD)/tests/bpf/shared_headers.bpf.o

# The relay filter. `make bpf-verify` prints what the verifier processed.
BPF_OBJ = $(BUILD)/bpf/greywall.bpf.o
BPF_TEST_BIN = $(BUILD)/tests/bpf/test_relay
XDP_PASS_OBJ = $(BUILD)/tests/bpf/xdp_pass.bpf.o
$(BPF_OBJ): bpf/greywall.bpf.c $(wildcard bpf/*.h include/greywall/*.h)
	@mkdir -p $(dir $@)
	$(CLANG) -target bpf -mcpu=v3 -O2 -g -Wall -Werror -fno-builtin -ffreestanding -Iinclude -Ibpf \
		-I/usr/include/$(shell uname -m)-linux-gnu -c $< -o $@

$(BUILD)/tools/verifier_log: tests/bpf/verifier_log.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $< -o $@ -lbpf

$(BPF_TEST_BIN): tests/bpf/test_relay.c tests/bpf/tcp_frame.h $(LIB) $(wildcard include/greywall/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $< -o $@ $(LIB) -lbpf

$(XDP_PASS_OBJ): tests/bpf/xdp_pass.bpf.c
	@mkdir -p $(dir $@)
	$(CLANG) -target bpf -mcpu=v3 -O2 -g -Wall -Werror \
		-I/usr/include/$(shell uname -m)-linux-gnu -c $< -o $@

$(BUILD)/greywall-relay-config: tools/relay_config.c $(BUILD)/control/relay_maps.o $(LIB)
	$(CC) $(CFLAGS) -Icontrol $< $(BUILD)/control/relay_maps.o -o $@ $(LIB) -lbpf

$(BUILD)/tools/bench/bpf_bench: tools/bench/bpf_bench.c tests/bpf/tcp_frame.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/bpf $< -o $@ -lbpf

$(BUILD)/tools/bench/table_lookup.bpf.o: tools/bench/table_lookup.bpf.c $(wildcard bpf/*.h include/greywall/*.h)
	@mkdir -p $(dir $@)
	$(CLANG) -target bpf -mcpu=v3 -O2 -g -Wall -Werror -fno-builtin -ffreestanding -Iinclude -Ibpf \
		-I/usr/include/$(shell uname -m)-linux-gnu -c $< -o $@

$(BUILD)/tools/bench/table_bpf_bench: tools/bench/table_bpf_bench.c tools/bench/bench_util.h $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -O3 $< -o $@ $(LIB) -lbpf

bpf: $(BPF_OBJ) $(BUILD)/tools/verifier_log $(BPF_TEST_BIN) $(XDP_PASS_OBJ) \
	$(BUILD)/greywall-relay-config $(BUILD)/tools/bench/bpf_bench \
	$(BUILD)/tools/bench/table_lookup.bpf.o $(BUILD)/tools/bench/table_bpf_bench

bpf-verify: bpf
	@for p in greywall_xdp greywall_tc_egress; do $(BUILD)/tools/verifier_log $(BPF_OBJ) 1 $$p; done

$(BUILD)/tools/bench/sweep_bench: tools/bench/sweep_bench.c tools/bench/bench_util.h $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -O3 $< -o $@ $(LIB) -lpthread

$(BUILD)/tools/bench/cluster_bench: tools/bench/cluster_bench.c $(CTL_OBJS) $(CLUSTER_OBJS) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Icontrol $< $(CTL_OBJS) $(CLUSTER_OBJS) -o $@ $(LIB) -lbpf -lhiredis -lpq -lpthread

$(BUILD)/tools/bench/table_bench: tools/bench/table_bench.c tools/bench/bench_util.h $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -O3 -march=native $(DPDK_CFLAGS) $< -o $@ $(LIB) $(DPDK_LIBS) -lpthread

test: deps
	$(MAKE) all $(FUZZ_BINS) bpf-check
	tests/run.sh

fuzz: $(FUZZ_BINS)
	@for t in $(FUZZ_TARGETS); do \
		mkdir -p $(BUILD)/fuzz-corpus/$$t; \
		$(BUILD)/tests/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) \
			-artifact_prefix=tests/fuzz/crashers/$$t- \
			$(BUILD)/fuzz-corpus/$$t tests/fuzz/corpus/$$t || exit 1; \
	done

bench: deps
	$(MAKE) all
	tools/bench/run.sh

demo: deps
	$(MAKE) all
	tools/demo.sh

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD)
