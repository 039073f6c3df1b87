#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""A hostile local client against a running greywalld: idle floods, trickled
bytes and garbage on each socket it serves, with a well-behaved Postfix
policy request asked again and again throughout, each of which must be
answered within PROBE_LIMIT. Usage: attack.py POLICY METRICS CONTROL PHASE...
(host:port, host:port, socket path). Exits 1 on the first broken promise."""
import os
import random
import socket
import sys
import time

PROBE_LIMIT = 0.050  # seconds for one whole Postfix exchange, connect included
REQUEST = (b"request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\n"
           b"client_address=198.51.100.%d\nclient_name=unknown\nhelo_name=mx.example\n"
           b"sender=a@sender.example\nrecipient=b@rcpt.example\n\n")

policy, metrics, control = None, None, None
probes, worst = 0, 0.0


def fail(msg):
    print("FAIL: " + msg, flush=True)
    sys.exit(1)


def hostport(s):
    host, port = s.rsplit(":", 1)
    return host, int(port)


def tcp(addr, timeout=2.0):
    s = socket.create_connection(addr, timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def unix(path):
    # a full backlog answers EAGAIN at once, not after a wait: try for a while
    end = time.monotonic() + 2.0
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(2.0)
        try:
            s.connect(path)
            return s
        except BlockingIOError:
            s.close()
            if time.monotonic() > end:
                raise
            time.sleep(0.01)


def read_until(s, mark, limit=1 << 20):
    buf = b""
    while mark not in buf and len(buf) < limit:
        b = s.recv(65536)
        if not b:
            break
        buf += b
    return buf


def read_all(s):
    return read_until(s, b"\0never\0")


def probe(what):
    """One Postfix exchange on a new connection, timed from connect to answer."""
    global probes, worst
    t0 = time.monotonic()
    try:
        s = tcp(policy, timeout=1.0)
        s.sendall(REQUEST % random.randrange(1, 255))
        ans = read_until(s, b"\n\n")
        s.close()
    except OSError as e:
        fail("%s: the Postfix request was not answered: %s" % (what, e))
    dt = time.monotonic() - t0
    if not ans.startswith(b"action=") or not ans.endswith(b"\n\n"):
        fail("%s: the Postfix request got %r" % (what, ans))
    if dt > PROBE_LIMIT:
        fail("%s: the Postfix request took %.1f ms (limit %.0f ms)" % (what, dt * 1e3,
                                                                       PROBE_LIMIT * 1e3))
    probes += 1
    worst = max(worst, dt)


def probe_for(what, seconds, every=0.1):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        probe(what)
        time.sleep(every)


def close_all(socks):
    for s in socks:
        try:
            s.close()
        except OSError:
            pass


# --- item 8: answers are exactly the bytes they should be, no constant's tail
def phase_literals():
    s = tcp(metrics)
    s.sendall(b"POST /metrics HTTP/1.0\r\n\r\n")
    got = read_all(s)
    s.close()
    want = b"HTTP/1.0 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n"
    if got != want:
        fail("POST /metrics answered %r, not %r" % (got, want))
    s = unix(control)
    s.sendall(b"report\n")
    got = read_all(s)
    s.close()
    if b"\0" in got or not got.endswith(b"\n") or not got.startswith(b"error: "):
        fail("report without names answered %r" % got)
    probe("after the literal checks")


# --- item 1: more idle policy connections than max_clients
def phase_idle_policy(n=300, seconds=3.0):
    idle = []
    for _ in range(n):
        idle.append(tcp(policy))
    probe_for("%d idle policy connections" % n, seconds)
    # the ones still open were idle longest or newest: either way a new client is served
    close_all(idle)


# a client that keeps a request half-sent for ever holds no slot for long
def phase_partial_policy(n=300, seconds=3.0):
    half = []
    for i in range(n):
        s = tcp(policy)
        s.sendall(b"request=smtpd_access_policy\nprotocol_state=RC")
        half.append(s)
    probe_for("%d half-sent policy requests" % n, seconds)
    close_all(half)


# a request trickled slower than its deadline is cut off, and probes go on meanwhile
def phase_request_deadline(limit=10.0):
    s = tcp(policy)
    s.sendall(b"request=smtpd_access_policy\n")
    t0 = time.monotonic()
    s.setblocking(False)
    while time.monotonic() - t0 < limit + 3:
        try:
            s.send(b"x")
        except OSError:
            break  # closed: reset or a full pipe to a closed socket
        try:
            if s.recv(100) == b"":
                break
        except BlockingIOError:
            pass
        except OSError:
            break
        probe("a request trickled past its deadline")
        time.sleep(0.5)
    dt = time.monotonic() - t0
    s.close()
    if dt < limit - 1.5 or dt > limit + 2.5:
        fail("a trickled request was cut off after %.1f s, not about %.0f s" % (dt, limit))


# --- item 2: slow and silent clients on the side sockets
def trickle(socks, data, seconds, step=0.05):
    """Send data one byte per step to every socket in socks, probing in between."""
    end = time.monotonic() + seconds
    i = 0
    while time.monotonic() < end:
        for s in socks:
            try:
                s.send(data[i % len(data):i % len(data) + 1])
            except OSError:
                pass  # greywalld gave up on it: that is the point
        i += 1
        probe("trickling")
        time.sleep(step)


def phase_silent_metrics(n=100, seconds=3.0):
    silent = [tcp(metrics) for _ in range(n)]
    probe_for("%d silent metrics connections" % n, seconds)
    close_all(silent)


def phase_trickle_metrics(n=20, seconds=3.0):
    socks = [tcp(metrics) for _ in range(n)]
    trickle(socks, b"GET /metrics HTTP/1.0\r\nX-Slow: " + b"a" * 200, seconds)
    close_all(socks)


def phase_silent_control(n=100, seconds=3.0):
    silent = [unix(control) for _ in range(n)]
    probe_for("%d silent control connections" % n, seconds)
    close_all(silent)


def phase_trickle_control(n=20, seconds=3.0):
    socks = [unix(control) for _ in range(n)]
    trickle(socks, b"stats" + b" " * 200, seconds)
    close_all(socks)


# a side connection that never finishes its request is closed at its deadline
# (5 s from accept), and one that sends more than the byte budget at once
def phase_side_deadline(limit=5.0):
    socks = [tcp(metrics), unix(control)]
    for s in socks:
        s.sendall(b"GET /metr")
        s.setblocking(False)
    t0 = time.monotonic()
    open_ = list(socks)
    while open_ and time.monotonic() - t0 < limit + 3:
        for s in list(open_):
            try:
                if s.recv(100) == b"":
                    open_.remove(s)
            except BlockingIOError:
                pass
            except OSError:
                open_.remove(s)
        probe("side connections waiting for their deadline")
        time.sleep(0.2)
    dt = time.monotonic() - t0
    close_all(socks)
    if open_ or dt < limit - 1.5:
        fail("silent side connections closed after %.1f s, not about %.0f s" % (dt, limit))
    for s in (tcp(metrics), unix(control)):
        try:
            s.sendall(b"x" * 20000)
            got = read_all(s)
        except OSError:
            got = b""
        s.close()
        if got:
            fail("a 20000-byte request without an end was answered: %r" % got[:100])
    probe("after the byte budget")


# connections that keep talking through their deadline, and more side connections than
# the 64 kept: greywalld drops some of them (expiry, eviction) while their bytes are
# still waiting in the same event batch; it must neither touch a dropped one nor die
def phase_deadline_while_talking(rounds=3):
    for _ in range(rounds):
        socks = []
        for _ in range(30):
            socks.append(tcp(metrics))
            socks.append(unix(control))
        t0 = time.monotonic()
        for s in socks:
            s.setblocking(False)
        probe("side connections about to talk through their deadline")
        # quiet until just before the 5 s deadline, then bytes on every one of them
        # without a pause, so their readiness is pending when greywalld expires them
        time.sleep(max(0.0, t0 + 4.3 - time.monotonic()))
        while time.monotonic() < t0 + 6.5:
            for s in socks:
                try:
                    s.send(b"x")
                except OSError:
                    pass  # closed by greywalld: its deadline
        # newcomers past the 64 kept evict the oldest while those still talk
        for _ in range(70):
            try:
                n = tcp(metrics)
                n.setblocking(False)
                socks.append(n)
            except OSError:
                pass
            for s in socks[:40]:
                try:
                    s.send(b"y")
                except OSError:
                    pass
        close_all(socks)
        probe("after the side connections that talked through their deadline")


# a flood of metrics connections must not evict a greyctl request on the control socket
def phase_flood_spares_control(n=150):
    ctl = unix(control)
    ctl.sendall(b"pi")  # a request under way
    flood = []
    for _ in range(n):
        try:
            flood.append(tcp(metrics))
        except OSError:
            pass
    probe("a flood of %d metrics connections" % n)
    try:
        ctl.sendall(b"ng\n")
        got = read_all(ctl)
    except OSError as e:
        got = ("(%s)" % e).encode()
    ctl.close()
    close_all(flood)
    if not got.startswith(b"ok"):
        fail("a control request under way was evicted by a metrics flood: %r" % got)


# a client that asks and never reads its answer must not block the loop either
def phase_unread_answers(n=20):
    socks = []
    for _ in range(n):
        s = tcp(metrics)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
        s.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
        socks.append(s)
        s = unix(control)
        s.sendall(b"stats\n")
        socks.append(s)
    probe_for("%d answers nobody reads" % (2 * n), 2.0)
    close_all(socks)


# --- garbage on every socket, then the sockets still answer the well-behaved
def phase_garbage(rounds=30):
    rnd = random.Random(14)
    for r in range(rounds):
        blob = bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 20000)))
        for connect in (lambda: tcp(policy), lambda: tcp(metrics), lambda: unix(control)):
            try:
                s = connect()
                s.sendall(blob)
                s.close()
            except OSError:
                pass
        probe("garbage round %d" % r)
    s = tcp(metrics)
    s.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
    got = read_all(s)
    s.close()
    if not got.startswith(b"HTTP/1.0 200 OK") or b"greywall_policy_requests_total" not in got:
        fail("metrics after the garbage: %r" % got[:200])
    s = unix(control)
    s.sendall(b"ping\n")
    got = read_all(s)
    s.close()
    if not got.startswith(b"ok"):
        fail("control ping after the garbage: %r" % got)


# --- items 4 and 9: the list files spoiled under a running greywalld
WHITE_CLIENT = 7  # 198.51.100.7 is on the whitelist run.sh writes


def control_cmd(cmd):
    s = unix(control)
    s.sendall(cmd + b"\n")
    got = read_all(s)
    s.close()
    return got


def whitelisted():
    s = tcp(policy, timeout=1.0)
    s.sendall(REQUEST % WHITE_CLIENT)
    ans = read_until(s, b"\n\n")
    s.close()
    return ans.startswith(b"action=DUNNO") or ans.startswith(b"action=PREPEND")


def phase_corrupt_lists():
    d = os.environ["GW_HOSTILE_DIR"]
    white = d + "/white.txt"
    secret = d + "/secret"
    with open(white, "rb") as f:
        good = f.read()
    with open(secret, "w") as f:
        f.write("hunter2 is the password\n")
    os.chmod(secret, 0o600)
    if not whitelisted():
        fail("the whitelisted client is greylisted before anything was spoiled")

    def replace_with(maker):
        if os.path.lexists(white):
            os.unlink(white)
        maker()

    def write(data, mode=0o644, owner=None):
        def make():
            with open(white, "wb") as f:
                f.write(data)
            os.chmod(white, mode)
            if owner is not None:
                os.chown(white, owner, owner)
        return make

    cases = [
        ("a directory", lambda: os.mkdir(white), "not a regular file (a directory)"),
        ("a FIFO", lambda: os.mkfifo(white, 0o600), "a device, FIFO or socket"),
        ("missing", lambda: None, "No such file"),
        ("a NUL byte", write(b"client 198.51.100.7\nclient 10.0.0.1\0x\n"), ":2: a NUL byte"),
        ("a stranger's file", write(good, owner=65533), "owned by uid 65533"),
        ("anyone may write it", write(good, mode=0o666), "anyone may write it"),
        ("a long line", write(b"client " + b"1" * 5000 + b"\n"), ":1: line too long"),
        ("a bad CIDR", write(b"client 198.51.100.7/33\n"), ":1:"),
        ("binary garbage", write(bytes(range(1, 256)) * 8), ":1:"),
        ("a symlink to a secret", lambda: os.symlink(secret, white), ":1:"),
    ]
    for name, maker, want in cases:
        replace_with(maker)
        t0 = time.monotonic()
        got = control_cmd(b"reload")
        dt = time.monotonic() - t0
        if not got.startswith(b"error: ") or want.encode() not in got:
            fail("reload with a list file that is %s answered %r" % (name, got))
        if b"hunter2" in got:
            fail("reload quoted the secret a symlinked list pointed at: %r" % got)
        if dt > 1.0:
            fail("reload with a list file that is %s took %.1f s" % (name, dt))
        if not whitelisted():
            fail("after a refused reload (%s) the old whitelist is no longer in force" % name)
        probe("after a list file that is " + name)
        if os.path.isdir(white) and not os.path.islink(white):
            os.rmdir(white)
        else:
            try:
                os.unlink(white)
            except FileNotFoundError:
                pass
    with open(white, "wb") as f:
        f.write(good)
    got = control_cmd(b"reload")
    if not got.startswith(b"ok"):
        fail("reload of the good list again answered %r" % got)
    if not whitelisted():
        fail("the good list again: the whitelisted client is greylisted")


def main():
    global policy, metrics, control
    if len(sys.argv) < 5:
        print(__doc__, file=sys.stderr)
        return 2
    policy, metrics, control = hostport(sys.argv[1]), hostport(sys.argv[2]), sys.argv[3]
    probe("at start")
    for name in sys.argv[4:]:
        t0 = time.monotonic()
        globals()["phase_" + name]()
        print("ok %-16s %.1f s, %d probes so far, worst %.1f ms" %
              (name, time.monotonic() - t0, probes, worst * 1e3), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
