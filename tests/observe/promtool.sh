#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# greywalld's live /metrics page passes `promtool check metrics` (Prometheus's
# own lint: counter names end in _total, no unit or type in the wrong place),
# with every source on it: the policy server and greywall-dp's shared state
# (after a net_pcap replay), then the policy server and the relay filter's
# maps (loaded and pinned with bpftool, not attached). On top of the lint:
# one unit per metric, gauges typed as gauges, a build_info, and the same
# verdict label values on all three paths.
. "$(dirname "$0")/lib.sh"
command -v promtool >/dev/null || { echo "promtool missing (Debian package prometheus)"; exit 1; }
PIN=/sys/fs/bpf/greywall-obs-$$
mounted=
obs_bpf_cleanup() {
	obs_cleanup # greywalld first: it holds a lock on the pin directory, which keeps bpffs busy
	rm -rf "$PIN"
	[ -n "$mounted" ] && umount /sys/fs/bpf
}
trap obs_bpf_cleanup EXIT

check() { # NAME: fetch greywalld's page into $OBS_DIR/NAME and lint it
	obs_metrics >"$OBS_DIR/$1" || fail "no /metrics page"
	echo "== promtool check metrics ($1)"
	promtool check metrics <"$OBS_DIR/$1" || fail "promtool: not clean"
	echo "clean: $(grep -vc '^#' "$OBS_DIR/$1") samples"
}
m() { # FILE ERE
	grep -E "$2" "$OBS_DIR/$1" || fail "no line matches: $2"
}
labels() { # FILE METRIC: its verdict label values, sorted
	sed -nE "s/^$2\{(lcore=\"0\",)?verdict=\"([a-z_]+)\"\}.*/\2/p" "$OBS_DIR/$1" | sort | tr '\n' ' '
}

# the policy server and greywall-dp
obs_start
obs_run_dp
obs_wait_log "$OBS_DIR/greywalld.log" "reading greywall-dp.s counters" 5 ||
	{ cat "$OBS_DIR/greywalld.log"; fail "greywalld did not read greywall-dp's shared state"; }
obs_policy 203.0.113.5 alice@sender.example bob@receiver.example >/dev/null
check dp
m dp '^greywall_build_info\{version="[^"]+"\} 1$'
m dp '^# TYPE greywall_dp_flows_active gauge$'
m dp '^greywall_dp_flows_active\{lcore="0"\} 1$' # the replayed session never closed
m dp '^greywall_dp_port_rx_bytes_total\{port="0"\} [1-9]'
m dp '^greywall_dp_port_rx_packets_total\{port="0"\} [1-9]'
m dp '^greywall_dp_verdicts_total\{lcore="0",verdict="greylist"\} 1$'
m dp '^greywall_policy_verdicts_total\{verdict="greylist"\} 1$'
if grep -E '^greywall_dp_(total|port_total)\{' "$OBS_DIR/dp"; then
	fail "counters of different units still share one metric"
fi
obs_stop

# the policy server and the relay filter
if ! mountpoint -q /sys/fs/bpf; then
	mount -t bpf bpf /sys/fs/bpf
	mounted=1
fi
mkdir -p "$PIN"
bpftool prog loadall "$BUILD/bpf/greywall.bpf.o" "$PIN/progs" pinmaps "$PIN/maps" ||
	fail "bpftool could not load the relay filter"
OBS_RELAY=1 obs_start "relay_maps = $PIN/maps"
check relay
m relay '^greywall_relay_verdicts_total\{verdict="greylist"\} 0$'
m relay '^greywall_relay_failopen_total\{reason="midstream"\} 0$'
m relay '^greywall_relay_replies_injected_total 0$'

policy=$(labels dp greywall_policy_verdicts_total)
dp=$(labels dp greywall_dp_verdicts_total)
relay=$(labels relay greywall_relay_verdicts_total)
echo "verdict labels: policy [$policy] greywall-dp [$dp] relay [$relay]"
[ -n "$policy" ] && [ "$policy" = "$dp" ] && [ "$policy" = "$relay" ] ||
	fail "the verdict labels differ between the paths"
echo "PASS"
