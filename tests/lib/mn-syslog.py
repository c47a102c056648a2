#!/usr/bin/python3
# tests/lib/mn-syslog.py LOGFILE SOCKET... - a syslog sink for a test host
# of tests/lib/mailnet.sh: listens on the given Unix datagram sockets
# (/dev/log of the host's private /dev, and Postfix's chroot dev/log) and
# appends each message, one line, to LOGFILE.  Runs until killed.
import os
import select
import socket
import sys

log = open(sys.argv[1], "ab", buffering=0)
socks = []
for path in sys.argv[2:]:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    os.chmod(path, 0o666)
    socks.append(s)
while True:
    ready, _, _ = select.select(socks, [], [])
    for s in ready:
        data = s.recv(65536)
        # "<PRI>Mon DD HH:MM:SS prog[pid]: text" -> keep everything after <PRI>
        if data.startswith(b"<") and b">" in data[:6]:
            data = data[data.index(b">") + 1:]
        log.write(data.rstrip(b"\0\n") + b"\n")
