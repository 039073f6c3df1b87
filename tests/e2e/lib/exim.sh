#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# A real Exim 4 sender for the namespace testbed. Source it after testbed.sh.
#
# Exim conflicts with Postfix as the system MTA, so it is never installed:
# Debian's exim4-daemon-light is fetched with `apt-get download`, unpacked with
# `dpkg -x` into EXIM_CACHE (once), and run in the sender namespace inside a
# private mount namespace (`unshare -m`) where
#   - /usr/sbin is an overlay with the unpacked exim4 (and nothing else of
#     the package) on top, because Exim re-executes itself as /usr/sbin/exim4
#     and the host has no file there to bind-mount over;
#   - /etc/passwd and /etc/group are bind-mounted copies that add the
#     Debian-exim user the binary looks up at start (compiled in).
# The mounts live and die with the processes of that mount namespace; nothing
# on the host changes. Exim runs in the foreground only (no daemon): `-odi`
# delivers while the submitting process waits, and `-qff` is a forced queue run
# that returns when it is done, so each attempt is deterministic.
#
#   exim_fetch                  unpack exim4-daemon-light into EXIM_CACHE
#   exim_setup [RELAY]          config, spool and logs under $TB_DIR/exim
#                               (RELAY defaults to $TB_RCV4, port 25)
#   exim_run ARGS...            run /usr/sbin/exim4 -C <config> ARGS... in the sender namespace
#   exim_send FROM RCPT...      submit one message and deliver it at once (-odi)
#   exim_queue_run              deliver everything queued now, retry times ignored (-qff)
#   exim_queue_count            messages still in Exim's queue
#   exim_stop                   no Exim process left in the sender namespace

EXIM_CACHE=${EXIM_CACHE:-$TB_ROOT/build/exim}
# the binary alone in its directory: that directory goes over /usr/sbin, and
# the package's sendmail symlink must not hide Postfix's there
EXIM_BIN=$EXIM_CACHE/sbin/exim4
EXIM_DIR=$TB_DIR/exim
EXIM_CONF=$EXIM_DIR/exim.conf
EXIM_LOG=$EXIM_DIR/log/mainlog
# How long one Exim command may take (a delivery attempt, a queue run).
EXIM_TIMEOUT=${EXIM_TIMEOUT:-120}

# Fetch and unpack Debian's exim4-daemon-light once. A missing shared library
# is reported by name (the packages that provide them belong in DEB_PACKAGES).
exim_fetch() {
	if [ ! -x "$EXIM_BIN" ]; then
		local tmp=$EXIM_CACHE.tmp$$
		rm -rf "$tmp"
		mkdir -p "$tmp/deb"
		# _apt cannot write into a root-owned directory; apt then downloads as
		# root and says so: that warning is expected
		# stale package lists name a version the archive no longer has: update once
		(cd "$tmp/deb" && { apt-get download -q exim4-daemon-light ||
			{ apt-get update -q && apt-get download -q exim4-daemon-light; }; }) >"$tmp/download.log" 2>&1 || {
			tb_log "apt-get download exim4-daemon-light failed:"
			cat "$tmp/download.log" >&2
			rm -rf "$tmp"
			return 1
		}
		dpkg -x "$tmp"/deb/exim4-daemon-light_*.deb "$tmp/root" &&
			mkdir "$tmp/sbin" && cp -p "$tmp/root/usr/sbin/exim4" "$tmp/sbin/" || { rm -rf "$tmp"; return 1; }
		mkdir -p "$EXIM_CACHE"
		rm -rf "$EXIM_CACHE/root" "$EXIM_CACHE/deb" "$EXIM_CACHE/sbin"
		mv "$tmp/root" "$tmp/deb" "$tmp/sbin" "$EXIM_CACHE/"
		rm -rf "$tmp"
	fi
	local missing
	missing=$(ldd "$EXIM_BIN" 2>&1 | awk '/not found/ { print $1 }')
	if [ -n "$missing" ]; then
		tb_log "exim4 needs shared libraries this machine lacks: $(echo "$missing" | tr '\n' ' ')"
		tb_log "(on Debian 12: libidn12 and libgnutls-dane0 besides what make deps installs)"
		return 1
	fi
}

# A uid (and gid) that the host's passwd (group) does not use, for Debian-exim.
_exim_free_id() { # passwd|group
	local id
	for id in $(seq 64990 65010); do
		getent "$1" "$id" >/dev/null || { echo "$id"; return 0; }
	done
	return 1
}

exim_setup() {
	local relay=${1:-$TB_RCV4} uid gid
	exim_fetch || return 1
	uid=$(_exim_free_id passwd) && gid=$(_exim_free_id group) || {
		tb_log "no free uid/gid for Debian-exim"
		return 1
	}
	mkdir -p "$EXIM_DIR/spool" "$EXIM_DIR/log"
	cp /etc/passwd "$EXIM_DIR/passwd"
	cp /etc/group "$EXIM_DIR/group"
	# the copies may already name the user (Exim installed on the host): use theirs
	if ! grep -q '^Debian-exim:' "$EXIM_DIR/passwd"; then
		echo "Debian-exim:x:$uid:$gid:Exim test sender:$EXIM_DIR:/usr/sbin/nologin" >>"$EXIM_DIR/passwd"
		grep -q '^Debian-exim:' "$EXIM_DIR/group" || echo "Debian-exim:x:$gid:" >>"$EXIM_DIR/group"
	else
		uid=$(awk -F: '$1 == "Debian-exim" { print $3 }' "$EXIM_DIR/passwd")
		gid=$(awk -F: '$1 == "Debian-exim" { print $4 }' "$EXIM_DIR/passwd")
	fi
	chmod 644 "$EXIM_DIR/passwd" "$EXIM_DIR/group"
	# deliveries run as the Exim user and write the spool (retry data, message logs) and logs
	chown "$uid:$gid" "$EXIM_DIR/spool" "$EXIM_DIR/log"
	chmod 750 "$EXIM_DIR/spool" "$EXIM_DIR/log"
	cat >"$EXIM_CONF" <<CONF
# Exim test sender: everything goes to the receiver at [$relay]:25.
primary_hostname = sender.example
qualify_domain = sender.example
exim_user = Debian-exim
exim_group = Debian-exim
never_users = root
spool_directory = $EXIM_DIR/spool
log_file_path = $EXIM_DIR/log/%slog
log_selector = +pipelining +received_recipients +smtp_protocol_error +outgoing_port +deliver_time +smtp_confirmation
message_logs = true
host_lookup = :
rfc1413_hosts = :
tls_advertise_hosts = :
keep_environment =
# one delivery process, one connection, every recipient in one transaction
remote_max_parallel = 1
queue_run_max = 1

begin routers

# bounces and warnings to the local sender go nowhere (the receiver would refuse them)
sender_local:
  driver = redirect
  domains = sender.example
  data = :blackhole:

to_receiver:
  driver = manualroute
  route_list = * $relay
  transport = to_receiver_smtp
  no_more

begin transports

to_receiver_smtp:
  driver = smtp
  port = 25
  # PIPELINING is used whenever the server offers it (hosts_avoid_pipelining is unset)
  hosts_try_chunking = *
  hosts_try_fastopen = :
  hosts_try_prdr = :
  hosts_try_dane = :
  hosts_avoid_tls = *
  max_rcpt = 1000
  connect_timeout = 10s
  command_timeout = 30s
  data_timeout = 30s
  final_timeout = 30s

begin retry

# a deferred address may be retried 5 s later (exim_queue_run forces it anyway)
* * F,1h,5s

begin rewrite
CONF
	chmod 644 "$EXIM_CONF"
	EXIM_UID=$uid
}

# exim_run ARGS...: /usr/sbin/exim4 -C $EXIM_CONF ARGS... in the sender
# namespace, inside its own private mount namespace; stdin is passed on.
exim_run() {
	timeout -k 5 "$EXIM_TIMEOUT" ip netns exec "$TB_NS_SND" unshare -m --propagation private \
		sh -c 'set -e
			mount --bind "$1/passwd" /etc/passwd
			mount --bind "$1/group" /etc/group
			# no overlayfs: a tmpfs holding only exim4 will do, Exim runs nothing else from there
			mount -t overlay greywall-exim -o "lowerdir=$2:/usr/sbin" /usr/sbin 2>/dev/null ||
				{ mount -t tmpfs greywall-exim /usr/sbin && cp -p "$2/exim4" /usr/sbin/; }
			conf=$3
			shift 3
			exec /usr/sbin/exim4 -C "$conf" "$@"' \
		exim-sh "$EXIM_DIR" "$(dirname "$EXIM_BIN")" "$EXIM_CONF" "$@"
}

# exim_send FROM RCPT...: submit one message (Subject: greywall exim test) and
# attempt its delivery while the submitter waits (-odi).
exim_send() {
	local from=$1
	shift
	printf 'From: <%s>\nTo: undisclosed-recipients:;\nSubject: greywall exim test\n\nHello from Exim through greywall.\n' \
		"$from" | exim_run -odi -f "$from" -- "$@"
}

# Deliver everything in the queue now, retry times and freezing ignored.
exim_queue_run() {
	exim_run -qff "$@"
}

exim_queue_count() {
	exim_run -bpc
}

# No Exim process may outlive the test: kill those left in the sender namespace.
exim_stop() {
	local pid i
	for i in $(seq 10); do
		local left=
		for pid in $(ip netns pids "$TB_NS_SND" 2>/dev/null); do
			[ "$(cat "/proc/$pid/comm" 2>/dev/null)" = exim4 ] && left="$left $pid"
		done
		[ -z "$left" ] && return 0
		kill $([ "$i" -gt 5 ] && echo -9) $left 2>/dev/null
		sleep 0.2
	done
	return 1
}
