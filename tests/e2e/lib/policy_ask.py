#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""A scripted Postfix policy client (check_policy_service) for the e2e tests.

    policy_ask.py HOST:PORT [PACE] < requests

Each stdin line is "CLIENT SENDER RECIPIENT"; each goes as one RCPT request
over one connection, as Postfix pools it, and its action line is printed
("DEFER_IF_PERMIT ..." or "DUNNO"), one per request, in order. PACE: seconds
to wait between requests (default none), for traffic that lasts a while.
"""
import socket
import sys
import time


def main():
    host, port = sys.argv[1].rsplit(":", 1)
    s = socket.create_connection((host, int(port)), timeout=10)
    f = s.makefile("rb")
    pace = float(sys.argv[2]) if len(sys.argv) > 2 else 0.0
    for line in sys.stdin:
        if pace:
            time.sleep(pace)
        parts = line.split()
        if len(parts) != 3:
            continue
        client, sender, rcpt = parts
        s.sendall(("request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\n"
                   "client_address=%s\nclient_name=unknown\nhelo_name=mx.test\n"
                   "sender=%s\nrecipient=%s\n\n" % (client, sender, rcpt)).encode())
        action = None
        while True:
            reply = f.readline()
            if not reply:
                sys.exit("policy server closed the connection")
            reply = reply.decode().rstrip("\n")
            if reply == "":
                break
            if reply.startswith("action="):
                action = reply[len("action="):]
        print(action, flush=True)


if __name__ == "__main__":
    main()
