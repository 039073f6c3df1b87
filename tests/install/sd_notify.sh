#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# greywalld as greywalld.service runs it: an unprivileged user (User=, here nobody), its
# control socket in a directory of its own (RuntimeDirectory=), its snapshot in another
# (StateDirectory=), Type=notify. READY=1 comes when the policy port already answers and
# greyctl gets an answer on the control socket, STOPPING=1 when SIGTERM starts the
# shutdown, then exit status 0 with the snapshot written; over a socket path (as systemd
# gives) and an abstract one. In a network namespace of its own (loopback only).
[ "$(id -u)" = 0 ] || { echo "needs root (a network namespace)"; exit 77; }
if [ -z "${GW_NOTIFY_NS:-}" ]; then
	exec unshare --net -- env GW_NOTIFY_NS=1 "$0" "$@"
fi
# shellcheck source=tests/install/lib.sh
. "$(dirname "$0")/lib.sh"
ip link set lo up
id=notify-$$
trap 'rm -rf "$SCRATCH"; rm -f /dev/shm/greywall-$id-*' EXIT
cat >"$SCRATCH/greywall.conf" <<CONF
table_path = /dev/shm/greywall-$id-triplets
awl_path = /dev/shm/greywall-$id-awl
capacity = 4096
snapshot_path = $SCRATCH/state/triplets.snap
control_socket = $SCRATCH/run/greywalld.sock
control_group = nogroup
metrics_listen =
policy_listen = 127.0.0.1:10023
names_capacity = 0
CONF
# the directories systemd would make for User=: the scratch directory itself is root's
mkdir -p "$SCRATCH/state" "$SCRATCH/run"
chown nobody:nogroup "$SCRATCH/state" "$SCRATCH/run"
chmod 755 "$SCRATCH"
cat >"$SCRATCH/notify.py" <<'PY'
import os, signal, socket, subprocess, sys

daemon, greyctl, scratch, where = sys.argv[1:5]
REQUEST = (b"request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\n"
           b"client_address=198.51.100.7\nclient_name=unknown\nhelo_name=mx.example\n"
           b"sender=a@sender.example\nrecipient=b@rcpt.example\n\n")
listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
if where == "path":
    name = os.path.join(scratch, "notify")
    listener.bind(name)
    os.chmod(name, 0o777)  # as systemd's /run/systemd/notify: any service may write
else:
    name = "@greywall-notify-test-%d" % os.getpid()
    listener.bind("\0" + name[1:])
listener.settimeout(10)
log = open(os.path.join(scratch, "greywalld.log"), "w")
conf = os.path.join(scratch, "greywall.conf")
user = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
p = subprocess.Popen(user + [daemon, "-c", conf, "-f"],
                     env=dict(os.environ, NOTIFY_SOCKET=name), stdout=log, stderr=log)
try:
    msg = listener.recv(4096)
    if msg != b"READY=1":
        sys.exit("first notification %r, not READY=1" % msg)
    # Postfix is started on READY=1: the very next request must be answered
    with socket.create_connection(("127.0.0.1", 10023), timeout=2) as s:
        s.sendall(REQUEST)
        reply = s.recv(4096)
    if not reply.startswith(b"action="):
        sys.exit("policy answer right after READY=1: %r" % reply)
    print("%s socket: READY=1, then the policy port answered %r" % (where, reply.strip()))
    ping = subprocess.run([greyctl, "-c", conf, "ping"], capture_output=True, text=True)
    if ping.returncode != 0:
        sys.exit("greyctl ping: %s%s" % (ping.stdout, ping.stderr))
    st = os.stat(os.path.join(scratch, "run", "greywalld.sock"))
    print("greyctl ping: %s; the socket is mode %o, uid %d" % (ping.stdout.strip(),
                                                               st.st_mode & 0o777, st.st_uid))
    p.send_signal(signal.SIGTERM)
    msg = listener.recv(4096)
    if msg != b"STOPPING=1":
        sys.exit("after SIGTERM: %r, not STOPPING=1" % msg)
    rc = p.wait(10)
    if rc != 0:
        sys.exit("greywalld exited %d after SIGTERM" % rc)
    snap = os.path.join(scratch, "state", "triplets.snap")
    if not os.path.exists(snap):
        sys.exit("no snapshot in the state directory after SIGTERM")
    os.unlink(snap)
    print("%s socket: SIGTERM, STOPPING=1, exit status 0, snapshot written" % where)
finally:
    if p.poll() is None:
        p.kill()
PY
for where in path abstract; do
	python3 "$SCRATCH/notify.py" "$BUILD/greywalld" "$BUILD/greyctl" "$SCRATCH" "$where" || {
		cat "$SCRATCH/greywalld.log" >&2
		fail "sd_notify over a $where socket"
	}
done
