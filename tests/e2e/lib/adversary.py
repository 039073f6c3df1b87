#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""A scripted SMTP client that behaves like a hostile sender.

It controls how its commands are cut into writes (and so, with TCP_NODELAY,
into segments) and when each write goes, so that the end-to-end tests can
try the shapes a greylister must still judge: an RCPT line written in pieces,
many recipients in one session, over-long lines and addresses, commands
pipelined whether or not the server offered PIPELINING, command lines spelt as
Postfix reads them but not as RFC 5321 writes them (a leading blank, tabs, a
NUL byte), and a message ended the way Postfix ends one but RFC 5321 does not
(bare LF around the dot), with the next transaction right behind it.

Every command sent and every reply read is printed as one JSON object per
line, for example

    {"cmd": "RCPT TO:<bob@receiver.example>", "code": 450, "text": "4.7.1 ..."}

and the last line is a summary: {"summary": {"250": 3, "450": 2}, ...}.
Long commands are shown shortened in "cmd" (their full length is in "len").

Exit status: 0 when the session ran to its end (whatever the replies were),
2 on a read timeout or the overall deadline, 3 when the server closed the
connection early, 4 on a reply that is not SMTP, 5 on a connection error,
6 when the server answered 421: the service is closing the channel (RFC 5321
3.8), so the client reads nothing more and closes its side.
"""

import argparse
import json
import socket
import sys
import time

EXIT_OK, EXIT_TIMEOUT, EXIT_CLOSED, EXIT_PROTOCOL, EXIT_CONNECT, EXIT_421 = 0, 2, 3, 4, 5, 6


class SessionError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


def emit(obj):
    print(json.dumps(obj), flush=True)


def shown(cmd, limit=120):
    """A command as printed: long ones cut in the middle."""
    if len(cmd) <= limit:
        return cmd
    return cmd[: limit // 2] + "..." + cmd[-limit // 2:]


class Client:
    def __init__(self, args):
        self.args = args
        self.deadline = time.monotonic() + args.deadline
        self.counts = {}
        self.sock = None
        self.buf = b""
        self.pending = b""  # bytes the next write begins with (--prelude-pipelined)

    # -- time and sockets ---------------------------------------------------

    def remaining(self):
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise SessionError(EXIT_TIMEOUT, "overall deadline of %gs passed" % self.args.deadline)
        return left

    def connect(self):
        family = socket.AF_INET6 if ":" in self.args.host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        if self.args.nodelay:
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.settimeout(min(self.args.timeout, self.remaining()))
        try:
            self.sock.connect((self.args.host, self.args.port))
        except OSError as e:
            raise SessionError(EXIT_CONNECT, "connect to %s port %d: %s"
                               % (self.args.host, self.args.port, e))

    def write(self, data):
        self.sock.settimeout(min(self.args.timeout, self.remaining()))
        try:
            self.sock.sendall(data)
        except socket.timeout:
            raise SessionError(EXIT_TIMEOUT, "write timed out")
        except OSError as e:
            raise SessionError(EXIT_CLOSED, "write failed: %s" % e)

    def write_pieces(self, data, pieces, gap_ms):
        """Write data in `pieces` parts of near-equal size, gap_ms apart."""
        cuts = self.cut_points(len(data), pieces)
        start = 0
        for i, end in enumerate(cuts):
            if i:
                time.sleep(min(gap_ms / 1000.0, self.remaining()))
            self.write(data[start:end])
            start = end

    def cut_points(self, length, pieces):
        if self.args.split_at:
            points = []
            for p in self.args.split_at:
                p = p if p >= 0 else length + p
                if 0 < p < length:
                    points.append(p)
            return sorted(set(points)) + [length]
        pieces = max(1, min(pieces, length))
        return [length * (i + 1) // pieces for i in range(pieces)]

    def read_line(self):
        while b"\n" not in self.buf:
            self.sock.settimeout(min(self.args.timeout, self.remaining()))
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                raise SessionError(EXIT_TIMEOUT, "no reply within %gs" % self.args.timeout)
            except OSError as e:
                raise SessionError(EXIT_CLOSED, "read failed: %s" % e)
            if not chunk:
                raise SessionError(EXIT_CLOSED, "server closed the connection")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.rstrip(b"\r").decode("utf-8", "replace")

    def read_reply(self, cmd):
        """One (possibly multi-line) reply; printed and counted under cmd."""
        lines = []
        while True:
            line = self.read_line()
            if len(line) < 3 or not line[:3].isdigit() or (len(line) > 3 and line[3] not in " -"):
                raise SessionError(EXIT_PROTOCOL, "not an SMTP reply: %r" % line)
            lines.append(line)
            if len(line) == 3 or line[3] == " ":
                break
        code = int(lines[0][:3])
        text = "\n".join(l[4:] for l in lines)
        key = str(code)
        self.counts[key] = self.counts.get(key, 0) + 1
        out = {"cmd": None if cmd is None else shown(cmd), "code": code, "text": text}
        if cmd is not None and len(cmd) > 120:
            out["len"] = len(cmd) + 2
        emit(out)
        if code == 421:
            # the session is over: no reply to anything sent after this one will come
            raise SessionError(EXIT_421, "the server answered 421 to %s" % (cmd or "the greeting"))
        return code, lines

    def command(self, cmd, sent=None):
        """Send cmd (or the bytes `sent`, shown as cmd) and read its reply."""
        self.write(sent if sent is not None else cmd.encode() + b"\r\n")
        return self.read_reply(cmd)

    # -- the envelope -------------------------------------------------------

    def recipients(self):
        a = self.args
        rcpts = list(a.rcpt or [])
        for i in range(1, a.rcpts + 1):
            rcpts.append(a.rcpt_fmt.format(i=i))
        if a.long_rcpt:
            rcpts.append(padded_address(a.long_base, "receiver.example", a.long_rcpt))
        rcpts.extend(a.rcpt_after or [])
        return rcpts

    def sender(self):
        a = self.args
        if a.long_from:
            local, _, domain = a.mail_from.partition("@")
            return padded_address(local, domain, a.long_from)
        return a.mail_from

    def rcpt_line(self, addr):
        line = "RCPT TO:<%s>" % addr
        if self.args.pad_rcpt:
            line = pad_with_orcpt(line, addr, self.args.pad_rcpt)
        return line

    def rcpt_bytes(self, addr):
        """The RCPT line as written: --rcpt-form spells it, else rcpt_line with CRLF."""
        if self.args.rcpt_form:
            return self.args.rcpt_form.replace(b"{a}", addr.encode())
        return self.rcpt_line(addr).encode() + b"\r\n"

    def message(self):
        a = self.args
        body = ("From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\nX-Adversary: %s\r\n\r\n"
                "Hello from greywall's adversarial client.\r\n"
                % (self.sender(), a.rcpt_header, a.subject, a.tag))
        # dot-stuffing is not needed: no body line starts with a dot
        return body.encode() + b".\r\n"

    # -- the session --------------------------------------------------------

    def run(self):
        a = self.args
        self.connect()
        code, _ = self.read_reply(None)
        if code != 220:
            raise SessionError(EXIT_PROTOCOL, "greeting %d" % code)
        code, lines = self.command("EHLO %s" % a.helo)
        caps = [l[4:].split(" ")[0].upper() for l in lines[1:]]
        if code != 250:
            code, lines = self.command("HELO %s" % a.helo)
            caps = []
        emit({"pipelining_offered": "PIPELINING" in caps})
        if a.prelude_rcpt:
            self.prelude()
        rcpts = self.recipients()
        mail = "MAIL FROM:<%s>" % self.sender()
        if a.pipeline:
            accepted = self.pipelined(mail, rcpts)
        else:
            accepted = self.lockstep(mail, rcpts)
        if accepted is not None and a.data and not a.pipeline:
            if accepted:
                code, _ = self.command("DATA")
                if code == 354:
                    self.write(self.message())
                    self.read_reply("<message>")
            else:
                emit({"note": "no recipient accepted: DATA not sent"})
        if a.quit:
            self.command("QUIT")
        return accepted

    def prelude(self):
        """A first transaction to --prelude-rcpt, its message ended by --prelude-eod.

        With --prelude-pipelined the next MAIL and RCPTs follow in the same
        write as the end of data, as RFC 2920 allows; otherwise the client
        waits for the message's reply first. Either way a greylister that
        missed the end of data would take them for message text."""
        a = self.args
        code, _ = self.command("MAIL FROM:<%s>" % self.sender())
        if code != 250:
            raise SessionError(EXIT_PROTOCOL, "prelude MAIL got %d" % code)
        code, _ = self.command("RCPT TO:<%s>" % a.prelude_rcpt)
        if code not in (250, 251):
            raise SessionError(EXIT_PROTOCOL, "prelude RCPT got %d" % code)
        if a.prelude_eod == "with-data":
            # DATA and an empty message in one write, not waiting for the 354
            self.write(b"DATA\r\n.\r\n")
            code, _ = self.read_reply("DATA")
            if code != 354:
                raise SessionError(EXIT_PROTOCOL, "prelude DATA got %d" % code)
            self.read_reply("<prelude>")
            return
        code, _ = self.command("DATA")
        if code != 354:
            raise SessionError(EXIT_PROTOCOL, "prelude DATA got %d" % code)
        body = ("From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\nX-Adversary: %s-prelude\r\n\r\n"
                "The first message of the session.\r\nLast line"
                % (self.sender(), a.prelude_rcpt, a.subject, a.tag)).encode()
        body += EODS[a.prelude_eod]
        if a.prelude_pipelined:
            self.pending = body
        else:
            self.write(body)
            self.read_reply("<prelude>")

    def lockstep(self, mail, rcpts):
        """MAIL, then each RCPT waiting for its reply; returns the accepted count."""
        a = self.args
        if self.pending:
            # the end of the prelude's message and MAIL in one write
            self.write(self.pending + mail.encode() + b"\r\n")
            self.pending = b""
            self.read_reply("<prelude>")
            code, _ = self.read_reply(mail)
        else:
            code, _ = self.command(mail)
        if code != 250:
            return None
        accepted = 0
        for addr in rcpts:
            line = self.rcpt_line(addr)
            if a.before_rcpt:
                self.command(a.before_rcpt)
            if a.split_rcpt > 1 or a.split_at:
                self.write_pieces(self.rcpt_bytes(addr), a.split_rcpt, a.split_gap)
                code, _ = self.read_reply(line)
            else:
                code, _ = self.command(line, self.rcpt_bytes(addr))
            if code in (250, 251):
                accepted += 1
        return accepted

    def pipelined(self, mail, rcpts):
        """MAIL, every RCPT (and DATA with --data) in one write; then read every reply."""
        a = self.args
        cmds = [mail] + [self.rcpt_line(r) for r in rcpts]
        if a.data:
            cmds.append("DATA")
        wire = [mail.encode() + b"\r\n"] + [self.rcpt_bytes(r) for r in rcpts]
        wire += [b"DATA\r\n"] if a.data else []
        self.write(self.pending + b"".join(wire))
        if self.pending:
            self.pending = b""
            self.read_reply("<prelude>")
        accepted = 0
        for i, cmd in enumerate(cmds):
            code, _ = self.read_reply(cmd)
            if i and cmd != "DATA" and code in (250, 251):
                accepted += 1
            if cmd == "DATA" and code == 354:
                # the server took DATA: it must get a message (or the session hangs)
                self.write(self.message())
                self.read_reply("<message>")
        return accepted

    def summary(self, status, error=None):
        out = {"summary": dict(sorted(self.counts.items())), "exit": status}
        if error:
            out["error"] = error
        emit(out)


# Ends of a message's last line and the dot line, as --prelude-eod names them:
# RFC 5321's CRLF.CRLF, and the ones Postfix also takes (smtpd_forbid_bare_newline
# = no, its default before 3.9: any LF ends a line, trailing CRs are stripped).
EODS = {
    "crlf": b"\r\n.\r\n",
    "lf": b"\n.\n",
    "lf-crlf": b"\n.\r\n",
    "crlf-lf": b"\r\n.\n",
    "crlf-crcrlf": b"\r\n.\r\r\n",
}


def unescape(text):
    """--rcpt-form's escapes: \\t \\v \\f \\r \\n \\0 \\xHH and \\\\."""
    return text.encode("latin-1").decode("unicode_escape").encode("latin-1")


def padded_address(local, domain, total):
    """local+<padding>@domain, exactly `total` octets long (the plain address if shorter)."""
    base = "%s+@%s" % (local, domain)
    need = total - len(base)
    if need <= 0:
        return "%s@%s" % (local, domain)
    return "%s+%s@%s" % (local, filler(need), domain)


def filler(n):
    """n octets of padding without digits (so a VERP fold cannot change it) or specials."""
    alphabet = "abcdefghijklmnopqrstuvwxyz"
    return "".join(alphabet[i % 26] for i in range(n))


def pad_with_orcpt(line, addr, total):
    """Pad an RCPT line to `total` octets (CRLF included) with an ORCPT parameter.

    The ORCPT address is the recipient with an extension of filler, its '+'
    written as xtext (+2B), so Postfix takes it as a valid DSN parameter.
    """
    local, _, domain = addr.partition("@")
    head = "%s ORCPT=rfc822;%s+2B" % (line, local)
    tail = "@%s" % domain
    need = total - 2 - len(head) - len(tail)
    if need <= 0:
        return line
    return head + filler(need) + tail


def parse_args(argv):
    p = argparse.ArgumentParser(
        description="Scripted SMTP client with control over segmentation and timing, "
                    "for greywall's adversarial end-to-end tests. One JSON object per "
                    "command and reply on stdout, then a summary line.",
        epilog="Exit status: 0 the session ran to its end (any replies), 2 timeout, "
               "3 connection closed early, 4 reply not SMTP, 5 cannot connect, 6 the server "
               "answered 421 (closing the session).")
    g = p.add_argument_group("connection")
    g.add_argument("--host", required=True, help="server address, IPv4 or IPv6")
    g.add_argument("--port", type=int, default=25, help="server port (default %(default)s)")
    g.add_argument("--nodelay", action="store_true",
                   help="set TCP_NODELAY; by default Nagle is on, so a small write waits "
                        "until the previous one is acked")
    g.add_argument("--timeout", type=float, default=15.0,
                   help="seconds to wait for any one reply or write (default %(default)s)")
    g.add_argument("--deadline", type=float, default=60.0,
                   help="seconds the whole session may take (default %(default)s)")
    g = p.add_argument_group("envelope")
    g.add_argument("--helo", default="client.example", help="EHLO name (default %(default)s)")
    g.add_argument("--from", dest="mail_from", default="alice@sender.example",
                   help="envelope sender (default %(default)s)")
    g.add_argument("--long-from", type=int, default=0, metavar="N",
                   help="pad the sender to local+<padding>@domain, N octets in all")
    g.add_argument("--rcpt", action="append", metavar="ADDR",
                   help="a recipient; repeat for more (sent first)")
    g.add_argument("--rcpts", type=int, default=0, metavar="N",
                   help="N generated recipients after the --rcpt ones")
    g.add_argument("--rcpt-fmt", default="u{i}@receiver.example",
                   help="format of the generated recipients, {i} counts from 1 "
                        "(default %(default)s)")
    g.add_argument("--long-rcpt", type=int, default=0, metavar="N",
                   help="then one recipient BASE+<padding>@receiver.example, N octets in all")
    g.add_argument("--long-base", default="bob", metavar="BASE",
                   help="local part that --long-rcpt extends (default %(default)s)")
    g.add_argument("--rcpt-after", action="append", metavar="ADDR",
                   help="a recipient sent after all the others (e.g. one already passed)")
    g = p.add_argument_group("shape")
    g.add_argument("--split-rcpt", type=int, default=1, metavar="K",
                   help="write each RCPT line in K pieces of near-equal size")
    g.add_argument("--split-at", type=lambda s: [int(x) for x in s.split(",")], default=None,
                   metavar="O1,O2,..", help="write each RCPT line in pieces cut at these "
                   "offsets instead (negative: from the end; -1 cuts between CR and LF)")
    g.add_argument("--split-gap", type=float, default=150.0, metavar="MS",
                   help="milliseconds between the pieces (default %(default)s)")
    g.add_argument("--pad-rcpt", type=int, default=0, metavar="N",
                   help="pad each RCPT line to N octets (CRLF included) with an ORCPT= "
                        "parameter; Postfix takes lines up to 2048")
    g.add_argument("--rcpt-form", type=unescape, default=None, metavar="FORM",
                   help="write each RCPT as FORM, {a} standing for the address and "
                        "backslash escapes decoded (\\t \\v \\f \\r \\n \\0 \\xHH); "
                        "FORM ends the line itself, e.g. '\\tRCPT TO:<{a}>\\r\\n'. "
                        "Replies are shown under RCPT TO:<ADDR> all the same")
    g.add_argument("--before-rcpt", metavar="CMD", type=lambda t: unescape(t).decode("latin-1"),
                   help="send CMD (and read its reply) before each RCPT, e.g. 'RSET x', "
                        "which Postfix refuses while keeping the transaction")
    g.add_argument("--prelude-rcpt", metavar="ADDR",
                   help="first send a whole message to ADDR (exempt or passed), then the "
                        "transaction under test in the same session")
    g.add_argument("--prelude-eod", choices=sorted(EODS) + ["with-data"], default="crlf",
                   help="how the prelude's message ends (default %(default)s); with-data: "
                        "an empty message written with DATA, before its 354")
    g.add_argument("--prelude-pipelined", action="store_true",
                   help="the next MAIL (and with --pipeline everything) in the same write "
                        "as the prelude's end of data")
    g.add_argument("--pipeline", action="store_true",
                   help="MAIL, every RCPT and (with --data) DATA in one write, whether or "
                        "not the server offered PIPELINING")
    g = p.add_argument_group("message")
    g.add_argument("--data", action="store_true",
                   help="after the RCPTs, send a small message if any recipient was accepted")
    g.add_argument("--subject", default="greywall test", help="Subject (default %(default)s)")
    g.add_argument("--tag", default="-", help="X-Adversary header value, to tell attempts apart")
    g.add_argument("--rcpt-header", default="undisclosed@receiver.example",
                   help="address in the To: header (default %(default)s)")
    g.add_argument("--quit", action="store_true", help="end with QUIT")
    a = p.parse_args(argv)
    if a.split_rcpt < 1:
        p.error("--split-rcpt must be at least 1")
    if a.prelude_pipelined and not a.prelude_rcpt:
        p.error("--prelude-pipelined needs --prelude-rcpt")
    if a.rcpt_form is not None and (b"{a}" not in a.rcpt_form or a.pad_rcpt):
        p.error("--rcpt-form needs {a} and does not take --pad-rcpt")
    if a.pipeline and (a.split_rcpt > 1 or a.split_at):
        p.error("--pipeline writes everything at once: no --split-rcpt/--split-at")
    if a.pad_rcpt > 4096 or a.long_rcpt > 4096 or a.long_from > 4096 or a.rcpts > 10000:
        p.error("sizes are bounded: at most 4096 octets and 10000 recipients")
    if not (a.rcpt or a.rcpts or a.long_rcpt or a.rcpt_after):
        p.error("no recipient: give --rcpt, --rcpts, --long-rcpt or --rcpt-after")
    return a


def main(argv):
    args = parse_args(argv)
    c = Client(args)
    status, error = EXIT_OK, None
    try:
        c.run()
    except SessionError as e:
        status, error = e.status, str(e)
    finally:
        if c.sock is not None:
            c.sock.close()
    c.summary(status, error)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
