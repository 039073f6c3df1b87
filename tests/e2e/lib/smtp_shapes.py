#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""A scripted SMTP client that controls its own segmentation and timing, for
the shapes a one-segment-at-a-time filter cannot judge:

  split     the RCPT line written in 3 pieces 150 ms apart, TCP_NODELAY
  pipelined MAIL, two RCPTs and DATA in one write, PIPELINING offered or not
  long      an RCPT line padded to about 1000 octets with an ORCPT parameter

usage: smtp_shapes.py HOST SHAPE SENDER RCPT [RCPT]

Prints each reply as "CODE text" on its own line, the command it answers
first ("RCPT <x>: 450 ..."), and ends with "delivered" when the message was
taken (DATA, body, 250) or "not delivered". A 421 ends the session, as RFC
5321 says it does ("closed by 421"). Exit status 0 unless the session broke
(no server, a timeout, a reply that is not SMTP).
"""
import socket
import sys
import time


class Closed(Exception):
    """The server (or something in its place) answered 421: the session is over."""


class Session:
    def __init__(self, host):
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.s = socket.socket(family, socket.SOCK_STREAM)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.s.settimeout(30)
        self.s.connect((host, 25))
        self.buf = b""

    def reply(self, what):
        """One whole (multi-line) reply; prints it after what it answers."""
        lines = []
        while True:
            while b"\r\n" not in self.buf:
                data = self.s.recv(4096)
                if not data:
                    raise EOFError("connection closed waiting for the reply to " + what)
                self.buf += data
            line, self.buf = self.buf.split(b"\r\n", 1)
            text = line.decode("latin-1")
            if len(text) < 3 or not text[:3].isdigit():
                raise ValueError("not an SMTP reply: %r" % text)
            lines.append(text)
            if len(text) == 3 or text[3] == " ":
                break
        print("%s: %s" % (what, lines[-1]), flush=True)
        if lines[-1].startswith("421"):
            raise Closed()
        return int(lines[-1][:3]), lines

    def send(self, data):
        self.s.sendall(data.encode("latin-1"))


def main():
    try:
        session(*sys.argv[1:4], sys.argv[4:])
    except Closed:
        print("closed by 421; not delivered")


def session(host, shape, sender, rcpts):
    c = Session(host)
    c.reply("banner")
    c.send("EHLO client.sender.example\r\n")
    code, lines = c.reply("EHLO")
    offered = any(l[4:].upper().startswith("PIPELINING") for l in lines)
    print("pipelining offered: %s" % ("yes" if offered else "no"))
    accepted = 0
    if shape == "pipelined":
        # one write, whatever the server offered: the replies come in order
        c.send("MAIL FROM:<%s>\r\n" % sender + "".join("RCPT TO:<%s>\r\n" % r for r in rcpts)
               + "DATA\r\n")
        c.reply("MAIL")
        for r in rcpts:
            accepted += c.reply("RCPT <%s>" % r)[0] == 250
        data_code = c.reply("DATA")[0]
    else:
        c.send("MAIL FROM:<%s>\r\n" % sender)
        c.reply("MAIL")
        for r in rcpts:
            if shape == "split":
                line = "RCPT TO:<%s>\r\n" % r
                cut = [0, 4, len(line) - 6, len(line)]
                for k in range(3):
                    c.send(line[cut[k]:cut[k + 1]])
                    if k < 2:
                        time.sleep(0.15)
            elif shape == "long":
                # an ORCPT value is the original recipient in xtext: the padding is
                # a long local part of it, which does not change the triplet
                pad = "x" * (1000 - len(r) - 40)
                c.send("RCPT TO:<%s> ORCPT=rfc822;%s-%s\r\n" % (r, pad, r))
            else:
                raise SystemExit("unknown shape " + shape)
            accepted += c.reply("RCPT <%s>" % r)[0] == 250
        c.send("DATA\r\n")
        data_code = c.reply("DATA")[0]
    delivered = False
    if data_code == 354:
        c.send("From: <%s>\r\nSubject: greywall test\r\n\r\nshape %s\r\n.\r\n" % (sender, shape))
        delivered = c.reply("end of data")[0] == 250
    c.send("QUIT\r\n")
    try:
        c.reply("QUIT")
    except (EOFError, OSError):
        pass
    print("accepted %d of %d; %s" % (accepted, len(rcpts), "delivered" if delivered else "not delivered"))


if __name__ == "__main__":
    main()
