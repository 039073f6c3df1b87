#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Helpers for the adversarial end-to-end tests (issue 12): run lib/adversary.py
# in the sender namespace and read what it saw, check greywall-dp's fail-open
# counters and what the receiving Postfix got. Source after testbed.sh and
# assert.sh.
#
# A test collects every problem it finds with adv_problem and reports them all
# at the end with adv_verdict, so one run shows each shape's outcome.

ADV_PY=$TB_ROOT/tests/e2e/lib/adversary.py
ADV_PROBLEMS=
# greywall's default greylist reply, after the code
ADV_GREY_RE='^4\.7\.1 <.*>: Recipient address rejected: Greylisted, retry in [0-9]+ seconds$'

adv_problem() {
	tb_log "problem: $*"
	ADV_PROBLEMS="$ADV_PROBLEMS
  - $*"
}

# adv_verdict OK_MESSAGE: fail with every problem recorded, or print the message.
adv_verdict() {
	[ -z "$ADV_PROBLEMS" ] || fail "$(printf '%s' "$ADV_PROBLEMS" | grep -c .) problem(s):$ADV_PROBLEMS"
	echo "ok: $1"
}

# adv NAME ARGS...: one adversary session from the sender namespace, its JSON
# lines in $TB_DIR/adv-NAME.jsonl; returns the client's exit status. The
# client bounds itself (--deadline); timeout is the backstop.
adv() {
	local name=$1
	shift
	ip netns exec "$TB_NS_SND" timeout 150 python3 "$ADV_PY" --deadline 120 "$@" \
		>"$TB_DIR/adv-$name.jsonl" 2>&1
}

# adv_spelling_shapes: "name|host|mailbox|adversary options" lines, one recipient
# each, for what Postfix 3.7 reads as an RCPT (or as the end of a message)
# although RFC 5321 spells it otherwise: blanks before the verb, tabs, VT, FF
# or a CR between the words (smtpd_token splits at any isspace() byte), a NUL
# and junk after the address (Postfix reads a C string), a bare LF; a message
# to postmaster@ ended by a dot line with bare LFs or extra CRs
# (smtpd_forbid_bare_newline = no), the next MAIL in the same write or not, or
# an empty one written with DATA before its 354 (RFC 2920 says wait); a
# path Postfix reads as RFC 822 (tok822: "<postmaster@x<bob@y>>" and
# "<bob@y(@x>" are bob@y), and an RCPT after an RSET Postfix refused ("RSET
# x": 501, the transaction kept).
adv_spelling_shapes() {
	local p="--prelude-rcpt postmaster@receiver.example"
	cat <<SHAPES
lead-space|$TB_RCV4|bob|--rcpt-form \x20RCPT\x20TO:<{a}>\r\n
lead-tab|$TB_RCV6|carol|--rcpt-form \tRCPT\x20TO:<{a}>\r\n
tabs|$TB_RCV4|dave|--rcpt-form RCPT\tTO:\t<{a}>\r\n
vt-ff|$TB_RCV4|erin|--rcpt-form RCPT\vTO:\f<{a}>\r\n
cr-between|$TB_RCV4|frank|--rcpt-form RCPT\rTO:<{a}>\r\n
nul-tail|$TB_RCV4|gina|--rcpt-form RCPT\x20TO:<{a}>\0junk\r\n
bare-lf|$TB_RCV4|hank|--rcpt-form RCPT\x20TO:<{a}>\n
tab-pipelined|$TB_RCV4|ivan|--rcpt-form RCPT\tTO:<{a}>\r\n --pipeline
eod-lf|$TB_RCV4|judy|$p --prelude-eod lf
eod-lf-pipelined|$TB_RCV6|kate|$p --prelude-eod lf --prelude-pipelined
eod-lf-crlf|$TB_RCV4|liam|$p --prelude-eod lf-crlf --prelude-pipelined
eod-crlf-lf|$TB_RCV4|mia|$p --prelude-eod crlf-lf --prelude-pipelined
eod-crlf-crcrlf|$TB_RCV4|noah|$p --prelude-eod crlf-crcrlf
eod-lf-all-pipelined|$TB_RCV4|olga|$p --prelude-eod lf --prelude-pipelined --pipeline
eod-with-data|$TB_RCV4|sara|$p --prelude-eod with-data
angle-in-path|$TB_RCV4|pete|--rcpt-form RCPT\x20TO:<postmaster@receiver.example<{a}>>\r\n
comment-in-path|$TB_RCV6|quin|--rcpt-form RCPT\x20TO:<{a}(@receiver.example>\r\n
refused-rset|$TB_RCV4|rita|--before-rcpt RSET\x20x
SHAPES
}
ADV_SPELLING_USERS="gina hank ivan judy kate liam mia noah olga pete quin rita sara"

# adv_spelling_attempt TAG SHAPES: one session per shape line, sessions TAG-NAME.
adv_spelling_attempt() {
	local name host box shape
	while IFS='|' read -r name host box shape; do
		# shellcheck disable=SC2086 # shape is a list of options
		adv_run "$1-$name" --host "$host" --rcpt "$box@receiver.example" $shape --nodelay \
			--data --quit --tag "$1"
	done <<<"$2"
}

# adv_spelling_expect_first SHAPES: each first attempt got greywall's 450, and
# a first message to postmaster@ before it was taken.
adv_spelling_expect_first() {
	local name host box shape
	while IFS='|' read -r name host box shape; do
		adv_expect_grey "first-$name" "$box@receiver.example"
		case $shape in
		*--prelude-rcpt*)
			[ "$(adv_reply_code "first-$name" "<prelude>")" = 250 ] ||
				adv_problem "first-$name: the first message was not taken: $(adv_summary "first-$name")"
			;;
		esac
	done <<<"$1"
}

# adv_spelling_expect_nothing_delivered SHAPES: no mailbox under test got the first attempts
adv_spelling_expect_nothing_delivered() {
	local name host box shape
	sleep 2 # a message let through would be delivered by now
	while IFS='|' read -r name host box shape; do
		[ "$(tb_mailbox "$box" | wc -l)" -eq 0 ] || adv_problem "first-$name: $box got the first attempt's message"
	done <<<"$1"
}

# adv_spelling_expect_retry SHAPES PRELUDES: each retry got 250 and was
# delivered once, and postmaster@ holds both attempts' first messages.
adv_spelling_expect_retry() {
	local name host box shape
	while IFS='|' read -r name host box shape; do
		adv_expect_code "retry-$name" "$box@receiver.example" 250
		adv_expect_taken "retry-$name"
		adv_mailbox_has "$box" 1 retry
	done <<<"$1"
	tb_wait_mailbox postmaster $((2 * $2)) 20 ||
		adv_problem "postmaster holds $(tb_mailbox postmaster | wc -l) messages, not $((2 * $2))"
}

# adv_run NAME ARGS...: the same; a session that did not complete is a problem.
adv_run() {
	local name=$1 rc=0
	adv "$@" || rc=$?
	[ "$rc" -eq 0 ] || adv_problem "$name: the client did not complete (exit $rc): $(tail -1 "$TB_DIR/adv-$name.jsonl")"
	return 0
}

_adv_jq() { # NAME FILTER [ARG]: jq on a session's lines, ARG as $a in FILTER
	jq -r --arg a "${3:-}" "$2" "$TB_DIR/adv-$1.jsonl" 2>/dev/null
}

# adv_rcpt_code NAME ADDR: the reply code to the RCPT for ADDR ("none" if no reply)
adv_rcpt_code() {
	local c
	c=$(_adv_jq "$1" 'select(.cmd? // "" | startswith("RCPT TO:<" + $a + ">")) | .code' "$2" | head -1)
	echo "${c:-none}"
}

# adv_rcpt_text NAME ADDR: the text of that reply
adv_rcpt_text() {
	_adv_jq "$1" 'select(.cmd? // "" | startswith("RCPT TO:<" + $a + ">")) | .text' "$2" | head -1
}

# adv_count NAME CODE: how many RCPTs got CODE
adv_count() {
	_adv_jq "$1" 'select(.cmd? // "" | startswith("RCPT")) | select(.code == ($a | tonumber)) | .code' "$2" | wc -l
}

# adv_grey_count NAME: how many RCPTs got greywall's 450 with its text
adv_grey_count() {
	_adv_jq "$1" 'select(.cmd? // "" | startswith("RCPT")) | select(.code == 450)
		| select(.text | test($a)) | .code' "$ADV_GREY_RE" | wc -l
}

# adv_reply_code NAME CMD: the reply code to the first command CMD (DATA, <message>)
adv_reply_code() {
	local c
	c=$(_adv_jq "$1" 'select(.cmd? == $a) | .code' "$2" | head -1)
	echo "${c:-none}"
}

# adv_summary NAME: the client's summary line (for messages)
adv_summary() {
	_adv_jq "$1" 'select(.summary?) | "replies \(.summary) exit \(.exit)\(if .error then " (" + .error + ")" else "" end)"'
}

# adv_expect_grey NAME ADDR: the RCPT for ADDR got greywall's 450, word for word
adv_expect_grey() {
	local code text
	code=$(adv_rcpt_code "$1" "$2")
	text=$(adv_rcpt_text "$1" "$2")
	if [ "$code" != 450 ]; then
		adv_problem "$1: RCPT <$(adv_short "$2")> got $code, not greywall's 450: $text"
	elif ! printf '%s\n' "$text" | grep -qE "$ADV_GREY_RE"; then
		adv_problem "$1: RCPT <$(adv_short "$2")> got 450 but not greywall's text: $text"
	fi
}

# adv_expect_code NAME ADDR CODE: the RCPT for ADDR got CODE
adv_expect_code() {
	local code
	code=$(adv_rcpt_code "$1" "$2")
	[ "$code" = "$3" ] ||
		adv_problem "$1: RCPT <$(adv_short "$2")> got $code, not $3: $(adv_rcpt_text "$1" "$2")"
}

# adv_expect_taken NAME: the message after the RCPTs was accepted (250 to its end)
adv_expect_taken() {
	local code
	code=$(adv_reply_code "$1" "<message>")
	[ "$code" = 250 ] || adv_problem "$1: the message was not taken (reply $code; $(adv_summary "$1"))"
}

adv_short() { # a long address shortened for messages
	local a=$1
	[ "${#a}" -le 60 ] && echo "$a" || echo "${a:0:30}...${a: -25} (${#a} octets)"
}

# adv_failopen_nonzero: greywall-dp's fail-open counters that are not 0, from its
# exit report (every counter on the total "fail-open" line, whatever their names)
adv_failopen_nonzero() {
	grep -E '^greywall-dp: fail-open ' "$TB_DIR/greywall-dp.log" | tail -1 |
		tr ' ' '\n' | grep -E '^[a-z_]+=[0-9]+$' | grep -v '=0$' | tr '\n' ' '
}

# adv_expect_no_failopen: greywall-dp exited with a report and every fail-open counter 0
adv_expect_no_failopen() {
	local nz
	grep -qE '^greywall-dp: fail-open ' "$TB_DIR/greywall-dp.log" ||
		{ adv_problem "greywall-dp wrote no exit report"; return 0; }
	nz=$(adv_failopen_nonzero)
	[ -z "$nz" ] || adv_problem "greywall-dp failed open: $nz"
}

# adv_expect_counter NAME VALUE: one of greywall-dp's counters at exit
adv_expect_counter() {
	local v
	v=$(dp_counter "$1")
	[ "${v:-missing}" = "$2" ] || adv_problem "greywall-dp counter $1 is ${v:-missing}, not $2"
}

# rcv_disconnects: sessions the receiving Postfix has finished
rcv_disconnects() {
	grep -c 'postfix/smtpd\[[0-9]*\]: disconnect from' "$TB_DIR/rcv/maillog" 2>/dev/null || true
}

# rcv_wait_disconnects N SECONDS: until the receiver has logged N session ends
rcv_wait_disconnects() {
	for _ in $(seq $(($2 * 5))); do
		[ "$(rcv_disconnects)" -ge "$1" ] && return 0
		sleep 0.2
	done
	return 1
}

# rcv_rcpts_seen: RCPT commands the receiving Postfix got, over all finished
# sessions (its disconnect lines count them: rcpt=N or rcpt=OK/N)
rcv_rcpts_seen() {
	grep -oE 'disconnect from .* rcpt=[0-9]+(/[0-9]+)?' "$TB_DIR/rcv/maillog" 2>/dev/null |
		sed -E 's/.* rcpt=([0-9]+\/)?//' | awk '{ n += $1 } END { print n + 0 }'
}

# adv_mailbox_has LOCAL COUNT TAG: LOCAL's mailbox holds exactly COUNT messages
# (waiting up to 20 s for them), and each carries "X-Adversary: TAG"
adv_mailbox_has() {
	local n f
	tb_wait_mailbox "$1" "$2" 20 || true
	sleep 0.5 # a duplicate would land now
	n=$(tb_mailbox "$1" | wc -l)
	if [ "$n" -ne "$2" ]; then
		adv_problem "mailbox $1 holds $n message(s), not $2"
		return 0
	fi
	for f in $(tb_mailbox "$1"); do
		grep -q "^X-Adversary: $3\$" "$f" || adv_problem "mailbox $1 holds a message without X-Adversary: $3"
		grep -q '^Subject: greywall test$' "$f" || adv_problem "mailbox $1 holds a message that is not ours"
	done
}

# The relay filter (tb_start_bpf) and its backstop (tb_start_backstop).

# relay_counters_nonzero: the relay filter's counters that are not 0, "name=value ..."
relay_counters_nonzero() {
	"$TB_ROOT/build/greyctl" relay --maps "$TB_BPF_PIN/maps" |
		awk 'NF == 2 && $2 != 0 { printf "%s=%s ", $1, $2 }'
}

# relay_failopen_nonzero [IGNORED...]: the relay filter's fail_* counters that
# are not 0, but for the IGNORED names
relay_failopen_nonzero() {
	local c n skip
	for c in $(relay_counters_nonzero); do
		n=${c%%=*}
		case $n in fail_*) ;; *) continue ;; esac
		for skip in "$@"; do [ "$n" = "$skip" ] && continue 2; done
		printf '%s ' "$c"
	done
}

# adv_expect_relay_counter NAME VALUE: one of the relay filter's counters now
adv_expect_relay_counter() {
	local v
	v=$(relay_counter "$1")
	[ "${v:-missing}" = "$2" ] || adv_problem "relay filter counter $1 is ${v:-missing}, not $2"
}

# backstop_metric NAME: one of the backstop greywalld's metrics (its control
# socket's stats), e.g. 'greywall_policy_verdicts_total{verdict="greylist"}'
backstop_metric() {
	tb_control "$TB_DIR/greywalld.sock" stats | awk -v k="$1" '$1 == k { print $2 }'
}

# backstop_verdicts: the backstop's policy verdict counts, for messages
backstop_verdicts() {
	tb_control "$TB_DIR/greywalld.sock" stats | grep -E '^greywall_policy_(verdicts|judged|requests)' |
		tr '\n' ' '
}

# rcv_rejected ADDR_RE: how many of the receiving Postfix's own RCPT rejects with
# 450 (the backstop's DEFER_IF_PERMIT) name a recipient that starts with the
# extended regex ADDR_RE, e.g. 'bob[@+]'
rcv_rejected() {
	local n
	n=$(grep -cE "NOQUEUE: reject: RCPT from [^ ]*: 450 4\.7\.1 <$1" "$TB_DIR/rcv/maillog" 2>/dev/null || true)
	echo "${n:-0}"
}
