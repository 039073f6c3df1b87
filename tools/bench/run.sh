#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# `make bench`: every benchmark, each printing ratios against its reference
# measured in the same run. Absolute numbers drift on shared machines; ratios
# measured side by side drift far less.
set -eu
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
echo "== triplet table vs rte_hash, policy decisions"
"$BUILD/tools/bench/table_bench" ${BENCH_TABLE_SIZES:-}
echo
echo "== sender pools: the pool key vs the plain /24 key, user-space decisions"
"$BUILD/tools/bench/pool_bench"

echo "== relay filter (XDP) vs a bare XDP_PASS, BPF_PROG_TEST_RUN"
"$BUILD/tools/bench/bpf_bench" "$BUILD/bpf/greywall.bpf.o" "$BUILD/tests/bpf/xdp_pass.bpf.o"
echo
echo "== triplet table inside BPF vs BPF_MAP_TYPE_HASH, BPF_PROG_TEST_RUN"
"$BUILD/tools/bench/table_bpf_bench" "$BUILD/tools/bench/table_lookup.bpf.o"
echo
echo "== greywall-dp vs dpdk-testpmd io-forward (non-SMTP)"
tools/bench/dp_bench.sh
echo
echo "== SMTP decisions per second in greywall-dp (a generated pcap of short sessions, net_pcap)"
tools/bench/pcap_bench.sh
echo
echo "== SMTP through greywall-dp vs testpmd vs a Linux bridge (namespaces, real smtp-source/smtp-sink)"
tools/bench/smtp_bench.sh
echo
echo "== greywalld policy server vs postgrey"
tools/bench/policy_bench.sh
echo
echo "== greywalld control plane: 1M-entry whitelist push, lookups during expiry sweeps"
tools/bench/control_bench.sh
echo
echo "== cluster sync through one Redis: verdict at node A to node B's table, events/s"
tools/bench/cluster_bench.sh
