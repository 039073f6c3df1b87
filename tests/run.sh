#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Runs every test that `make test` promises and ends with "N passed, N failed".
# Unit binaries are cmocka groups: each of their cases counts once. A skipped
# case is reported and never counted as passed.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
FUZZ_SMOKE_SECONDS=${FUZZ_SMOKE_SECONDS:-15}
LOG_DIR=$BUILD/test-logs
mkdir -p "$LOG_DIR"
passed=0 failed=0 skipped=0
failures=()

record() { # name status(0=pass,1=fail,2=skip)
	case $2 in
	0) passed=$((passed + 1)); echo "PASS  $1" ;;
	2) skipped=$((skipped + 1)); echo "SKIP  $1" ;;
	*) failed=$((failed + 1)); failures+=("$1"); echo "FAIL  $1 (log: $LOG_DIR/${1//[^A-Za-z0-9_.-]/_}.log)" ;;
	esac
}

run_cmocka() { # binary
	local bin=$1 name log line
	name=$(basename "$bin")
	log=$LOG_DIR/$name.log
	CMOCKA_MESSAGE_OUTPUT=stdout timeout 300 "$bin" >"$log" 2>&1
	local rc=$?
	while IFS= read -r line; do
		case $line in
		"[       OK ] "*) record "$name: ${line#\[       OK \] }" 0 ;;
		"[  FAILED  ] test"*) ;;
		"[  ERROR   ] "*) ;;
		"[  SKIPPED ] test"*) record "$name: ${line#\[  SKIPPED \] }" 2 ;;
		esac
	done <"$log"
	# failures are listed after the summary; count each once
	grep -E '^\[  FAILED  \] test' "$log" | sort -u | while IFS= read -r line; do
		echo "${line#\[  FAILED  \] }"
	done >"$log.failed"
	while IFS= read -r line; do
		record "$name: $line" 1
	done <"$log.failed"
	grep -h '^#' "$log" | sed 's/^/      /'
	if [ $rc -ne 0 ] && [ ! -s "$log.failed" ]; then
		record "$name: exited with status $rc" 1
	fi
}

run_case() { # name command...
	local name=$1 log
	shift
	log=$LOG_DIR/${name//[^A-Za-z0-9_.-]/_}.log
	if "$@" >"$log" 2>&1; then
		record "$name" 0
	elif [ $? -eq 77 ]; then
		record "$name" 2
	else
		record "$name" 1
		# what the test said went wrong first: its tail is mostly daemon logs
		grep -E '^(FAIL|not ok)|problem' "$log" | head -12 | sed 's/^/      /'
		tail -20 "$log" | sed 's/^/      /'
	fi
}

echo "== unit tests"
for bin in "$BUILD"/tests/unit/test_* "$BUILD"/tests/unit/table_multiproc; do
	case $bin in *.log | *.failed | *.d) continue ;; esac # .d: make's header dependencies
	run_cmocka "$bin"
done

echo "== BPF compile check"
bpf_check() {
	rm -f "$BUILD/tests/bpf/shared_headers.bpf.o"
	make -s bpf-check || return 1
	# the CAS must be a real BPF atomic, not a libcall
	llvm-objdump -d "$BUILD/tests/bpf/shared_headers.bpf.o" | grep -q cmpxchg
}
run_case "bpf: include/greywall builds with clang -target bpf -mcpu=v3" bpf_check

echo "== relay filter"
bpftool_loads() {
	local pin=/sys/fs/bpf/greywall-test-$$ mounted=
	if ! mountpoint -q /sys/fs/bpf; then
		mount -t bpf bpf /sys/fs/bpf || return 1
		mounted=1
	fi
	mkdir -p "$pin"
	bpftool prog loadall "$BUILD/bpf/greywall.bpf.o" "$pin/progs" pinmaps "$pin/maps"
	local rc=$?
	[ $rc = 0 ] && { [ -e "$pin/progs/greywall_xdp" ] && [ -e "$pin/progs/greywall_tc_egress" ] &&
		[ -e "$pin/maps/triplets" ] && [ -e "$pin/maps/stats" ] || rc=1; }
	rm -rf "$pin"
	[ -n "$mounted" ] && umount /sys/fs/bpf
	return $rc
}
run_case "bpf: the verifier accepts greywall.bpf.o (bpftool prog loadall, maps pinned)" bpftool_loads
run_case "bpf: packet-in/packet-out fixtures through BPF_PROG_TEST_RUN" \
	"$BUILD/tests/bpf/test_relay" "$BUILD/bpf/greywall.bpf.o"

echo "== greywall-dp on DPDK vdevs"
run_case "dataplane: packet-in/packet-out through greywall-dp on net_pcap vdevs" \
	tests/dataplane/pcap_session.sh

echo "== install, packaging, services"
run_case "install: greywalld, greyctl and greywall-dp answer --version with VERSION's version" \
	tests/install/version.sh
run_case "install: make honours CFLAGS, CPPFLAGS and LDFLAGS; -Werror comes only with make test" \
	tests/install/build_flags.sh
run_case "install: make install DESTDIR puts each file in place and keeps an edited greywall.conf" \
	tests/install/install_tree.sh
run_case "install: systemd-analyze verify passes on every unit, ordered relay, greywalld, Postfix" \
	tests/install/units_verify.sh
run_case "install: the man pages lint clean and document every greywall.conf key and option" \
	tests/install/man_pages.sh
run_case "install: greywalld as its unit runs it (a user, Type=notify) is READY=1 when it answers" \
	tests/install/sd_notify.sh
run_case "install: greywall-relay-attach detaches the filter, keeping its maps for the next attach" \
	tests/install/relay_attach.sh
run_case "install: dpkg-buildpackage builds a greywall .deb holding make install's tree" \
	tests/install/deb_package.sh

echo "== fuzz smoke (${FUZZ_SMOKE_SECONDS}s each; 'make fuzz' for long runs)"
fuzz_smoke() { # target
	local dir=$BUILD/fuzz-corpus/$1
	mkdir -p "$dir" tests/fuzz/crashers
	# every crasher ever found is replayed first as a regression case
	local crashers=(tests/fuzz/crashers/"$1"-*)
	if [ -e "${crashers[0]}" ]; then
		"$BUILD/tests/fuzz/fuzz_$1" -error_exitcode=1 "${crashers[@]}" || return 1
	fi
	# libFuzzer exits 77 on a finding, which run_case would read as a skip: make it a failure
	"$BUILD/tests/fuzz/fuzz_$1" -max_total_time="$FUZZ_SMOKE_SECONDS" -rss_limit_mb=2048 \
		-error_exitcode=1 -artifact_prefix="tests/fuzz/crashers/$1-" "$dir" "tests/fuzz/corpus/$1"
}
for t in smtp_stream smtp_command normalize reassembler policy_request config lists snapshot \
	spf_record; do
	run_case "fuzz: $t" fuzz_smoke "$t"
done

echo "== sender pools from SPF (unbound serves a synthetic zone in a network namespace)"
run_case "spf: three nested includes give the union of their pass networks, at the smallest TTL" \
	tests/spf/spf.sh nested_includes
run_case "spf: redirect= adds the target's networks, and is ignored when the record has all" \
	tests/spf/spf.sh redirect
run_case "spf: a and mx expand to their addresses with their cidr-lengths; 11 MX names are refused" \
	tests/spf/spf.sh a_and_mx
run_case "spf: an include loop (a includes b includes a) is refused and named" tests/spf/spf.sh loop
run_case "spf: ten DNS-querying terms across the tree resolve, twelve are refused" \
	tests/spf/spf.sh lookup_limit
run_case "spf: two void lookups resolve, three are refused, as is an include without a record" \
	tests/spf/spf.sh void_limit
run_case "spf: a name with two v=spf1 records is refused" tests/spf/spf.sh two_records
run_case "spf: macro, exists and ptr terms are skipped and counted, the rest resolves" \
	tests/spf/spf.sh macros
run_case "spf: a split TXT record is one, pools are named, a network goes to one pool, failures stay apart" \
	tests/spf/spf.sh names_and_split_records
run_case "spf: the refresh time is the smallest TTL used, held between the floor and the cap" \
	tests/spf/spf.sh ttl
run_case "spf: held networks merge, too wide ones drop, a record too big for UDP comes whole, caps hold" \
	tests/spf/spf.sh network_cap
run_case "spf: a DNS server that is gone or never answers gives a temporary error in time" \
	tests/spf/spf.sh server_gone
run_case "spf: through the event-loop API, the last good set outlives the DNS server and is replaced after" \
	tests/spf/spf.sh refresh_keeps_last_good_set
run_case "spf: the tool's output is a pools file greywalld --check takes" \
	tests/spf/spf.sh pools_file_loads
run_case "spf: greywalld keys a retry from another network of an SPF pool by the pool, and keeps the pool when DNS goes" \
	tests/spf/spf.sh greywalld_keys_retries_by_spf_pool

echo "== hostile clients"
run_case "hostile: greywalld answers Postfix within 50 ms while its sockets are attacked and its files spoiled" \
	timeout 300 tests/hostile/run.sh
# the same attacks on greywalld built with AddressSanitizer: a connection dropped
# (deadline, eviction) while its readiness waits in the event batch must not be touched
hostile_asan() {
	make -s BUILD="$BUILD/asan" CFLAGS="-O1 -g -fsanitize=address -fno-omit-frame-pointer" \
		LDFLAGS="-fsanitize=address" WERROR= "$BUILD/asan/greywalld" || return 1
	GREYWALLD=$PWD/$BUILD/asan/greywalld ASAN_OPTIONS=detect_leaks=0 timeout 300 \
		tests/hostile/run.sh deadline_while_talking idle_policy partial_policy trickle_metrics \
		trickle_control unread_answers garbage
}
run_case "hostile: greywalld built with ASan touches no connection it dropped while attacked" \
	hostile_asan

echo "== logs and metrics, read by the usual tools"
run_case "observe: pflogsumm counts the RCPTs greywall-dp and greywalld log as rejected" \
	timeout 120 tests/observe/pflogsumm.sh
run_case "observe: the policy server logs its verdicts in postgrey's words" \
	timeout 60 tests/observe/postgrey_log.sh
run_case "observe: greyctl --json is strict UTF-8 JSON when a sender has a 0xff byte" \
	timeout 60 tests/observe/json.sh
run_case "observe: promtool check metrics passes greywalld's live page, with greywall-dp and the relay filter on it" \
	timeout 120 tests/observe/promtool.sh

if [ -d tests/e2e ] && ls tests/e2e/*.sh >/dev/null 2>&1; then
	echo "== end to end"
	for t in tests/e2e/*.sh; do
		run_case "e2e: $(basename "$t" .sh)" timeout 600 "$t"
	done
fi

echo
if [ ${#failures[@]} -gt 0 ]; then
	echo "failed:"
	printf '  %s\n' "${failures[@]}"
fi
[ $skipped -gt 0 ] && echo "$skipped skipped (not counted as passed)"
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
