# SPDX-License-Identifier: BSD-2-Clause
# greywall: greylisting at the packet layer.
#
#   make deps    install the Debian 12 packages the build and tests need
#   make         build libraries, tools and tests
#   make test    deps + build (with -Werror) + every test (unit, multi-process, BPF, fuzz smoke)
#   make fuzz    long libFuzzer runs (FUZZ_SECONDS per target, default 600)
#   make bench   benchmarks, printed as ratios against the reference implementations
#   make demo    deps + build + the namespace testbed demo
#   make install the daemons, the relay filter, man pages and systemd units under
#                DESTDIR/PREFIX (PREFIX=/usr/local by default)
#
# CFLAGS, CPPFLAGS and LDFLAGS are the user's (dpkg-buildflags, for instance): the flags the
# code needs are added to them, never replaced by them. WERROR=1 turns warnings into errors;
# `make test` sets it unless told otherwise.

CC       ?= gcc
CLANG    ?= clang
BUILD    ?= build
CFLAGS   ?= -O2 -g
WERROR   ?=
GW_CPPFLAGS = -Iinclude -I$(BUILD)/include -D_GNU_SOURCE
GW_CFLAGS   = -std=gnu11 -Wall -Wextra -Wno-unused-function $(if $(filter 1,$(WERROR)),-Werror)
# -MMD -MP: each object records the headers it read, so touching one rebuilds what uses it
ALL_CFLAGS  = $(GW_CPPFLAGS) $(CPPFLAGS) $(GW_CFLAGS) $(CFLAGS) -MMD -MP
LINK        = $(CC) $(CFLAGS) $(LDFLAGS)

# The one place the version comes from is the VERSION file; a git checkout adds its commit.
VERSION    := $(shell cat VERSION)
GIT_COMMIT := $(shell git rev-parse --short HEAD 2>/dev/null)
GIT_DIRTY  := $(shell git diff --quiet HEAD 2>/dev/null || echo .dirty)
GW_VERSION := $(VERSION)$(if $(GIT_COMMIT),+g$(GIT_COMMIT)$(GIT_DIRTY))
VERSION_H  := $(BUILD)/include/greywall/version.h

# Installation directories (GNU names). The configuration lives in /etc/greywall whatever
# the prefix, because that is where the daemons look for it.
PREFIX     ?= /usr/local
SBINDIR    ?= $(PREFIX)/sbin
LIBDIR     ?= $(PREFIX)/lib
PKGLIBDIR  ?= $(LIBDIR)/greywall
MANDIR     ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
# Debian 12 keeps packaged units in /lib (usrmerge is not yet done in dpkg's database);
# systemd also reads /usr/local/lib/systemd/system for a local install.
ifeq ($(PREFIX),/usr)
UNITDIR    ?= /lib/systemd/system
else
UNITDIR    ?= $(PREFIX)/lib/systemd/system
endif
SYSUSERSDIR ?= $(LIBDIR)/sysusers.d
TMPFILESDIR ?= $(LIBDIR)/tmpfiles.d
INSTALL    ?= install

# A change of compiler or flags rebuilds everything: -Werror, sanitizers or
# dpkg-buildflags must reach every object, not only the ones edited since.
FLAGS_STAMP := $(BUILD)/.flags
FLAGS_NOW   := $(CC) $(ALL_CFLAGS) $(LDFLAGS)
ifneq ($(FLAGS_NOW),$(file <$(FLAGS_STAMP)))
$(shell mkdir -p $(BUILD))
$(file >$(FLAGS_STAMP),$(FLAGS_NOW))
endif
DPDK_CFLAGS = $(shell pkg-config --cflags libdpdk 2>/dev/null)
DPDK_LIBS   = $(shell pkg-config --libs libdpdk 2>/dev/null)

DEB_PACKAGES = build-essential clang llvm libclang-rt-14-dev pkg-config libcmocka-dev \
	libdpdk-dev dpdk dpdk-dev libbpf-dev bpftool libelf-dev zlib1g-dev libjemalloc-dev libpcap-dev \
	postfix postgrey swaks ethtool iproute2 iputils-ping tcpdump procps python3 \
	libidn12 libgnutls-dane0 jq debhelper dpkg-dev fakeroot mandoc groff-base systemd \
	pflogsumm prometheus libunbound-dev unbound libhiredis-dev redis-server libpq-dev postgresql

LIB_SRCS = lib/trusted_file.c lib/smtp_stream.c lib/address_long.c lib/decide_rcpt.c lib/table_file.c \
	lib/table_bpf.c lib/dp_shm.c lib/lists.c lib/reply.c lib/maintenance.c lib/verdict_text.c \
	lib/control_socket.c lib/conf.c
LIB_OBJS = $(LIB_SRCS:%.c=$(BUILD)/%.o)
LIB      = $(BUILD)/libgreywall.a

UNIT_TESTS = siphash normalize smtp_command smtp_stream table policy lists reply table_file seqmap \
	maintenance names dp_shm spf table_merge
UNIT_BINS  = $(UNIT_TESTS:%=$(BUILD)/tests/unit/test_%) $(BUILD)/tests/unit/table_multiproc

DP_TEST_BIN = $(BUILD)/tests/unit/test_dataplane_engine

CTL_SRCS = control/policy_server.c control/admin.c control/relay_maps.c \
	control/names.c control/report.c control/relay_events.c control/privdrop.c \
	control/verdict_log.c control/dp_link.c control/sd_notify.c control/json.c
GREYWALLD_SRCS = control/greywalld.c control/daemon_tables.c control/daemon_serve.c
GREYWALLD_OBJS = $(GREYWALLD_SRCS:%.c=$(BUILD)/%.o)
CTL_OBJS = $(CTL_SRCS:%.c=$(BUILD)/%.o)
# greywalld's alone: Redis and PostgreSQL stay out of greyctl, the unit tests and the fuzzers
CLUSTER_SRCS = control/cluster.c control/lists_pg.c
CLUSTER_OBJS = $(CLUSTER_SRCS:%.c=$(BUILD)/%.o)
$(BUILD)/control/lists_pg.o: GW_CPPFLAGS += $(shell pkg-config --cflags libpq 2>/dev/null)
DAEMON_BIN = $(BUILD)/greywalld $(BUILD)/greyctl
CTL_TEST_BIN = $(BUILD)/tests/unit/test_control

# Sender pools from SPF (issue 17): the resolver module, its tool and its test driver.
SPF_SRCS = control/spf.c
SPF_OBJS = $(SPF_SRCS:%.c=$(BUILD)/%.o)
# greywalld's side of it: pools kept fresh from SPF records
SPF_POOLS_OBJS = $(BUILD)/control/spf_pools.o $(SPF_OBJS)
SPF_BINS = $(BUILD)/tools/greywall-spf $(BUILD)/tests/spf/spf_refresh

FUZZ_TARGETS = smtp_stream smtp_command normalize reassembler policy_request config lists snapshot \
	spf_record
FUZZ_BINS    = $(FUZZ_TARGETS:%=$(BUILD)/tests/fuzz/fuzz_%)
FUZZ_SECONDS ?= 600

BENCH_BINS = $(BUILD)/tools/bench/table_bench $(BUILD)/tools/bench/sweep_bench \
	$(BUILD)/tools/bench/pool_bench $(BUILD)/tools/bench/cluster_bench

DP_SRCS = dataplane/main.c dataplane/options.c dataplane/stats.c dataplane/flow.c \
	dataplane/engine.c dataplane/dispatch.c dataplane/client_stream.c \
	dataplane/server_stream.c dataplane/verdict.c dataplane/inject.c dataplane/segment.c \
	dataplane/seqmap.c dataplane/reorder.c dataplane/verdict_log.c dataplane/control.c
DP_OBJS = $(DP_SRCS:%.c=$(BUILD)/%.o)
DP_BIN  = $(BUILD)/greywall-dp

.PHONY: all progs deps test unit fuzz fuzz-smoke bench demo clean format bpf-check bpf bpf-verify \
	install FORCE

all: $(LIB) $(UNIT_BINS) $(BENCH_BINS) $(DP_BIN) $(DP_TEST_BIN) $(DAEMON_BIN) $(CTL_TEST_BIN) \
	$(BUILD)/tools/bench/policy_load $(BUILD)/tools/smtp_pcap $(SPF_BINS) bpf progs

deps:
	@tools/deps.sh $(DEB_PACKAGES)

# Every C program is rebuilt when the compiler or flags change (objects: the pattern rules).
$(UNIT_BINS) $(DP_TEST_BIN) $(DAEMON_BIN) $(CTL_TEST_BIN) $(BENCH_BINS) $(DP_BIN) \
	$(BUILD)/tools/bench/policy_load $(BUILD)/tools/smtp_pcap $(BUILD)/tools/verifier_log \
	$(BUILD)/tests/bpf/test_relay \
	$(BUILD)/tools/bench/bpf_bench $(BUILD)/tools/bench/table_bpf_bench: $(FLAGS_STAMP)

-include $(wildcard $(BUILD)/*/*.d $(BUILD)/*/*/*.d $(BUILD)/*/*/*/*.d)

# Headers are tracked by -MMD (the .d files included above).
$(BUILD)/%.o: %.c $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/dataplane/%.o: dataplane/%.c $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(DPDK_CFLAGS) -c $< -o $@

# The version header must exist before the first compile of its users reads it.
$(BUILD)/control/greywalld.o $(BUILD)/control/greyctl/main.o $(BUILD)/dataplane/main.o \
	$(BUILD)/dataplane/options.o $(BUILD)/control/admin.o: $(VERSION_H)

# Rewritten only when the version changes, so a commit recompiles three objects, not all.
$(VERSION_H): FORCE
	@mkdir -p $(dir $@)
	@echo '#define GW_VERSION "$(GW_VERSION)"' >$@.tmp
	@cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@

$(DP_BIN): $(DP_OBJS) $(LIB)
	$(LINK) $(DP_OBJS) -o $@ $(LIB) $(DPDK_LIBS) -ljemalloc

$(DP_TEST_BIN): tests/dataplane/test_engine.c $(filter-out $(BUILD)/dataplane/main.o,$(DP_OBJS)) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) $(DPDK_CFLAGS) $< \
		$(filter-out $(BUILD)/dataplane/main.o,$(DP_OBJS)) -o $@ $(LIB) $(DPDK_LIBS) \
		-lcmocka

$(BUILD)/greywalld: $(GREYWALLD_OBJS) $(CTL_OBJS) $(CLUSTER_OBJS) $(SPF_POOLS_OBJS) $(LIB)
	$(LINK) $(filter %.o %.a,$^) -o $@ -lbpf -ljemalloc -lhiredis -lpq -lpthread -lunbound

GREYCTL_SRCS = control/greyctl/main.c control/greyctl/common.c control/greyctl/lists.c \
	control/greyctl/triplets.c control/greyctl/stats.c control/greyctl/report.c \
	control/greyctl/daemon.c control/greyctl/relay.c control/greyctl/pools.c
GREYCTL_OBJS = $(GREYCTL_SRCS:%.c=$(BUILD)/%.o)
$(GREYCTL_OBJS): control/greyctl/greyctl.h
$(GREYCTL_OBJS) $(CTL_OBJS) $(GREYWALLD_OBJS): $(wildcard control/*.h)

$(BUILD)/greyctl: $(GREYCTL_OBJS) $(CTL_OBJS) $(LIB)
	$(LINK) $(filter %.o %.a,$^) -o $@ -lbpf

$(CTL_TEST_BIN): tests/unit/test_control.c $(CTL_OBJS) $(LIB) tests/unit/unit.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) $< $(CTL_OBJS) -o $@ $(LIB) -lbpf -lcmocka

$(BUILD)/tools/smtp_pcap: tools/smtp_pcap.c tests/bpf/tcp_frame.h $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -Itests/bpf $< -o $@ $(LIB)

$(SPF_OBJS): control/spf.h

$(BUILD)/tools/greywall-spf: tools/spf_resolve.c $(SPF_OBJS) control/spf.h $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -Icontrol $< $(SPF_OBJS) -o $@ $(LIB) -lunbound

$(BUILD)/tests/spf/spf_refresh: tests/spf/spf_refresh.c $(SPF_OBJS) control/spf.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -Icontrol $< $(SPF_OBJS) -o $@ -lunbound

$(BUILD)/tests/unit/test_spf: tests/unit/test_spf.c $(SPF_OBJS) control/spf.h tests/unit/unit.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -Icontrol $< $(SPF_OBJS) -o $@ -lunbound -lcmocka

$(BUILD)/tools/bench/policy_load: tools/bench/policy_load.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) $< -o $@ -lpthread

$(LIB): $(LIB_OBJS)
	$(AR) rcs $@ $^

$(BUILD)/tests/unit/test_names: tests/unit/test_names.c control/names.c control/names.h tests/unit/unit.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) $< control/names.c -o $@ -lcmocka

$(BUILD)/tests/unit/test_seqmap: tests/unit/test_seqmap.c dataplane/seqmap.c dataplane/seqmap.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) $< dataplane/seqmap.c -o $@ -lcmocka

$(BUILD)/tests/unit/%: tests/unit/%.c $(LIB) tests/unit/unit.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) $< -o $@ $(LIB) -lcmocka

$(BUILD)/tests/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(LIB_SRCS) $(wildcard include/greywall/*.h)
	@mkdir -p $(dir $@)
	$(CLANG) -g -O1 -Iinclude -I$(BUILD)/include -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=undefined $< $(LIB_SRCS) -o $@

# The policy request and config targets are greywalld's own code, built with the sanitizers.
FUZZ_CTL_BINS = $(BUILD)/tests/fuzz/fuzz_policy_request $(BUILD)/tests/fuzz/fuzz_config
$(FUZZ_CTL_BINS): $(BUILD)/tests/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(CTL_SRCS) $(LIB_SRCS) $(VERSION_H) \
		$(wildcard control/*.h include/greywall/*.h)
	@mkdir -p $(dir $@)
	$(CLANG) -g -O1 -Iinclude -I$(BUILD)/include -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=undefined $< $(CTL_SRCS) $(LIB_SRCS) -o $@ -lbpf

# The SPF record parser, with the module it lives in.
$(BUILD)/tests/fuzz/fuzz_spf_record: tests/fuzz/fuzz_spf_record.c $(SPF_SRCS) control/spf.h
	@mkdir -p $(dir $@)
	$(CLANG) -g -O1 -Iinclude -I$(BUILD)/include -Icontrol -D_GNU_SOURCE \
		-fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=undefined $< $(SPF_SRCS) -o $@ -lunbound

# The reassembler target is greywall-dp's engine itself, built with the sanitizers.
FUZZ_DP_SRCS = $(filter-out dataplane/main.c,$(DP_SRCS))
$(BUILD)/tests/fuzz/fuzz_reassembler: tests/fuzz/fuzz_reassembler.c $(FUZZ_DP_SRCS) $(LIB_SRCS) $(VERSION_H) \
		$(wildcard dataplane/*.h include/greywall/*.h)
	@mkdir -p $(dir $@)
	$(CLANG) -g -O1 -Iinclude -I$(BUILD)/include -D_GNU_SOURCE $(DPDK_CFLAGS) \
		-fsanitize=fuzzer,address,undefined \
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
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) $< -o $@ -lbpf

$(BPF_TEST_BIN): tests/bpf/test_relay.c tests/bpf/tcp_frame.h $(LIB) $(wildcard include/greywall/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) $< -o $@ $(LIB) -lbpf

$(XDP_PASS_OBJ): tests/bpf/xdp_pass.bpf.c
	@mkdir -p $(dir $@)
	$(CLANG) -target bpf -mcpu=v3 -O2 -g -Wall -Werror \
		-I/usr/include/$(shell uname -m)-linux-gnu -c $< -o $@

$(BUILD)/tools/bench/bpf_bench: tools/bench/bpf_bench.c tests/bpf/tcp_frame.h $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -Itests/bpf $< -o $@ $(LIB) -lbpf

$(BUILD)/tools/bench/table_lookup.bpf.o: tools/bench/table_lookup.bpf.c $(wildcard bpf/*.h include/greywall/*.h)
	@mkdir -p $(dir $@)
	$(CLANG) -target bpf -mcpu=v3 -O2 -g -Wall -Werror -fno-builtin -ffreestanding -Iinclude -Ibpf \
		-I/usr/include/$(shell uname -m)-linux-gnu -c $< -o $@

$(BUILD)/tools/bench/table_bpf_bench: tools/bench/table_bpf_bench.c tools/bench/bench_util.h $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -O3 $< -o $@ $(LIB) -lbpf

bpf: $(BPF_OBJ) $(BUILD)/tools/verifier_log $(BPF_TEST_BIN) $(XDP_PASS_OBJ) \
	$(BUILD)/greyctl $(BUILD)/tools/bench/bpf_bench \
	$(BUILD)/tools/bench/table_lookup.bpf.o $(BUILD)/tools/bench/table_bpf_bench

bpf-verify: bpf
	@for p in greywall_xdp greywall_tc_egress; do $(BUILD)/tools/verifier_log $(BPF_OBJ) 1 $$p; done

$(BUILD)/tools/bench/pool_bench: tools/bench/pool_bench.c tools/bench/bench_util.h $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -O3 $< -o $@ $(LIB)

$(BUILD)/tools/bench/sweep_bench: tools/bench/sweep_bench.c tools/bench/bench_util.h $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -O3 $< -o $@ $(LIB) -lpthread

$(BUILD)/tools/bench/cluster_bench: tools/bench/cluster_bench.c $(CTL_OBJS) $(CLUSTER_OBJS) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -Icontrol $< $(CTL_OBJS) $(CLUSTER_OBJS) -o $@ $(LIB) -lbpf \
		-lhiredis -lpq -lpthread

$(BUILD)/tools/bench/table_bench: tools/bench/table_bench.c tools/bench/bench_util.h $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -O3 -march=native $(DPDK_CFLAGS) $< -o $@ $(LIB) \
		$(DPDK_LIBS) -lpthread

# Warnings are errors here, and only here (unless WERROR is given): a newer compiler
# must not break `make install` or a package build for a warning. The tests' own make
# calls get the same WERROR, so the flags do not change and nothing is built twice.
test: deps
	$(MAKE) WERROR=$(or $(WERROR),1) all $(FUZZ_BINS) bpf-check progs
	WERROR=$(or $(WERROR),1) tests/run.sh

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

# The units and the man pages name the installed paths, so they are made
# for PREFIX (and the rest) at build time; rewritten only when a path changed.
MAN_PAGES = man/greywalld.8 man/greyctl.8 man/greywall-dp.8 man/greywall.conf.5
UNITS     = systemd/greywalld.service systemd/greywall-dp@.service systemd/greywall-relay.service
GEN_FILES = $(MAN_PAGES:%=$(BUILD)/gen/%) $(UNITS:%=$(BUILD)/gen/%)
GEN_SED   = sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@PKGLIBDIR@|$(PKGLIBDIR)|g' \
	-e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' -e 's|@VERSION@|$(VERSION)|g'
$(BUILD)/gen/%: %.in FORCE
	@mkdir -p $(dir $@)
	@$(GEN_SED) $< >$@.tmp
	@cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@

# What an installation needs and no more: debian/rules builds this, not `all`.
progs: $(DP_BIN) $(DAEMON_BIN) $(BPF_OBJ) $(GEN_FILES)

# DESTDIR stages the tree (for a package); nothing here needs root or touches the
# running system: no user is created and no unit enabled (sysusers.d and the package
# do that). An existing configuration is never overwritten.
install: progs
	$(INSTALL) -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(PKGLIBDIR) $(DESTDIR)$(MANDIR)/man5 \
		$(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSUSERSDIR) \
		$(DESTDIR)$(TMPFILESDIR) $(DESTDIR)$(SYSCONFDIR)/greywall
	$(INSTALL) -m 0755 $(BUILD)/greywalld $(BUILD)/greyctl $(BUILD)/greywall-dp \
		$(DESTDIR)$(SBINDIR)/
	$(INSTALL) -m 0644 $(BPF_OBJ) $(DESTDIR)$(PKGLIBDIR)/greywall.bpf.o
	$(INSTALL) -m 0755 tools/greywall-relay-attach $(DESTDIR)$(PKGLIBDIR)/
	$(INSTALL) -m 0644 $(filter %.8,$(GEN_FILES)) $(DESTDIR)$(MANDIR)/man8/
	$(INSTALL) -m 0644 $(filter %.5,$(GEN_FILES)) $(DESTDIR)$(MANDIR)/man5/
	$(INSTALL) -m 0644 $(filter %.service,$(GEN_FILES)) $(DESTDIR)$(UNITDIR)/
	$(INSTALL) -m 0644 systemd/greywall.sysusers $(DESTDIR)$(SYSUSERSDIR)/greywall.conf
	$(INSTALL) -m 0644 systemd/greywall.tmpfiles $(DESTDIR)$(TMPFILESDIR)/greywall.conf
	@for f in control/greywall.conf:greywall.conf systemd/relay.env:relay.env; do \
		dst=$(DESTDIR)$(SYSCONFDIR)/greywall/$${f#*:}; \
		if [ -e "$$dst" ]; then echo "kept $$dst"; \
		else echo "$(INSTALL) -m 0644 $${f%%:*} $$dst"; \
			$(INSTALL) -m 0644 $${f%%:*} "$$dst" || exit 1; fi; \
	done

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD)
