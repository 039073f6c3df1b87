#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# `make bench`: the cluster sync through one real redis-server (in a namespace of
# its own, loopback only, its data under a temp dir): propagation latency from a
# verdict at node A to the entry in node B's table (median, p99) and sustained
# events per second, in one run. The goal (issue 16): 100,000 events/s, p99 < 100 ms.
set -eu
cd "$(dirname "$0")/../.."
. tests/e2e/lib/cluster.sh
cl_lock "$0" "$@"
cl_setup
# as the e2e tests run it: an append-only file synced at every write
cl_start_redis
cl_in "${BUILD:-build}/tools/bench/cluster_bench" 127.0.0.1:6379 ${BENCH_CLUSTER_ARGS:-}
