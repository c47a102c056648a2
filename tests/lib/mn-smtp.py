#!/usr/bin/python3
"""tests/lib/mn-smtp.py - the SMTP ends of the live tests (tests/lib/mailnet.sh).

  mn-smtp.py sink ADDR PORT DIR
      A minimal receiving MTA: accepts every message and stores it as
      DIR/N.eml (the exact bytes after DATA, dot-unstuffed), with the
      envelope in DIR/N.env.  Runs until killed.

  mn-smtp.py send [--source ADDR] [--port N] [--starttls] [--ssl]
                  [--auth USER:PASS] [--helo NAME] [--count N]
                  [--one-connection] [--subject S] HOST FROM TO
      Submits N messages (one connection each, or all in one) and prints one line per
      step: "ehlo-before-tls: ... AUTH ..." (the EHLO keywords),
      "ehlo: ..." after STARTTLS, "auth: 235 ...", "rcpt N: CODE text",
      "data N: CODE text", "mail N: ..." or "refused N: ..." for a refusal.  Exits 0 when every message was accepted, 1 when
      any step was refused (the refusal is printed), 2 on a connection
      error.  TLS certificates are not verified (the server's is
      self-signed); the TLS version is printed.
"""
import argparse
import os
import socket
import smtplib
import ssl
import sys
import time
import email.utils


def sink(addr, port, outdir):
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    srv = socket.socket(family, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((addr, port))
    srv.listen(16)
    n = 0
    while True:
        conn, peer = srv.accept()
        f = conn.makefile("rwb", buffering=0)

        def say(line):
            f.write(line.encode() + b"\r\n")

        say("220 sink.test ESMTP test sink")
        mail_from, rcpts = None, []
        try:
            while True:
                line = f.readline()
                if not line:
                    break
                cmd = line.decode("latin-1").strip()
                verb = cmd.split(" ", 1)[0].upper()
                if verb in ("EHLO", "HELO"):
                    f.write(b"250-sink.test\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n")
                elif verb == "MAIL":
                    mail_from, rcpts = cmd[10:].strip(), []
                    say("250 2.1.0 Ok")
                elif verb == "RCPT":
                    rcpts.append(cmd[8:].strip())
                    say("250 2.1.5 Ok")
                elif verb == "DATA":
                    say("354 End data with <CR><LF>.<CR><LF>")
                    body = []
                    while True:
                        l = f.readline()
                        if l in (b".\r\n", b".\n", b""):
                            break
                        if l.startswith(b".."):
                            l = l[1:]
                        body.append(l)
                    n += 1
                    base = os.path.join(outdir, "%d" % n)
                    with open(base + ".tmp", "wb") as out:
                        out.write(b"".join(body))
                    with open(base + ".env", "w") as out:
                        out.write("peer %s\nfrom %s\nto %s\n" % (peer[0], mail_from, " ".join(rcpts)))
                    os.rename(base + ".tmp", base + ".eml")
                    say("250 2.0.0 Ok: stored as %d" % n)
                elif verb == "RSET":
                    mail_from, rcpts = None, []
                    say("250 2.0.0 Ok")
                elif verb == "QUIT":
                    say("221 2.0.0 Bye")
                    break
                else:
                    say("250 2.0.0 Ok")
        except OSError:
            pass
        conn.close()


def connect(a, first):
    cls = smtplib.SMTP_SSL if a.ssl else smtplib.SMTP
    kw = {"context": ssl._create_unverified_context()} if a.ssl else {}
    s = cls(a.host, a.port, local_hostname=a.helo, timeout=30,
            source_address=(a.source, 0) if a.source else None, **kw)
    code, resp = s.ehlo()
    if first:
        print("ehlo-before-tls: %d %s" % (code, " ".join(resp.decode().split("\n")[1:])))
    if a.starttls:
        code, resp = s.starttls(context=ssl._create_unverified_context())
        if first:
            print("starttls: %d %s" % (code, s.sock.version()))
        code, resp = s.ehlo()
        if first:
            print("ehlo: %d %s" % (code, " ".join(resp.decode().split("\n")[1:])))
    if a.auth:
        user, pw = a.auth.split(":", 1)
        code, resp = s.login(user, pw)
        if first:
            print("auth: %d %s" % (code, resp.decode()))
    return s


def one_message(s, a, i):
    """0 accepted, 1 refused (printed)."""
    msg = ("From: <%s>\r\nTo: <%s>\r\nSubject: %s %d\r\nDate: %s\r\nMessage-ID: <%d.%d@mn-smtp.test>\r\n\r\n"
           "A test message from mn-smtp.py.\r\n" % (a.sender, a.to, a.subject, i + 1,
                                                     email.utils.formatdate(), time.time_ns(), i))
    code, resp = s.mail(a.sender)
    if code >= 400:
        print("mail %d: %d %s" % (i + 1, code, resp.decode()))
        s.rset()
        return 1
    code, resp = s.rcpt(a.to)
    print("rcpt %d: %d %s" % (i + 1, code, resp.decode()))
    if code >= 400:
        s.rset()
        return 1
    code, resp = s.data(msg.encode())
    print("data %d: %d %s" % (i + 1, code, resp.decode()))
    return 1 if code >= 400 else 0


def send(a):
    rc = 0
    s = None
    for i in range(a.count):
        try:
            if s is None:
                s = connect(a, i == 0)
            rc |= one_message(s, a, i)
            if not a.one_connection:
                s.quit()
                s = None
        except smtplib.SMTPResponseException as e:
            print("refused %d: %d %s" % (i + 1, e.smtp_code, e.smtp_error.decode(errors="replace")))
            rc = 1
            try:
                s.close()
            except (OSError, AttributeError):
                pass
            s = None
        except (OSError, smtplib.SMTPException) as e:
            print("error %d: %s" % (i + 1, e))
            return 2
    if s is not None:
        try:
            s.quit()
        except (OSError, smtplib.SMTPException):
            pass
    return rc


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "sink":
        sink(sys.argv[2], int(sys.argv[3]), sys.argv[4])
        return 0
    p = argparse.ArgumentParser()
    p.add_argument("cmd", choices=["send"])
    p.add_argument("--source")
    p.add_argument("--port", type=int, default=25)
    p.add_argument("--starttls", action="store_true")
    p.add_argument("--ssl", action="store_true")
    p.add_argument("--auth")
    p.add_argument("--helo", default="client.example.org")
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--one-connection", action="store_true")
    p.add_argument("--subject", default="mailstage live test")
    p.add_argument("host")
    p.add_argument("sender")
    p.add_argument("to")
    return send(p.parse_args())


if __name__ == "__main__":
    sys.exit(main())
