#!/usr/bin/env python3
"""A Hive peer written from docs/hive-protocol.md, for the regression tests of
selftests/hive.sh: it sends frames exactly as given (so numbers keep their
text: 2^63, 1.5) and prints every frame it receives, one JSON text a line.

  hive_peer.py PORT CA CERT KEY [--read S] [--until TYPE] < FRAMES   one JSON text per input line
  hive_peer.py PORT --idle N --hold S                               N TCP connections that say nothing
"""
import argparse
import socket
import ssl
import struct
import sys
import time


def frames(sock, deadline, until):
    buf = b""
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            data = sock.recv(65536)
        except (socket.timeout, TimeoutError):
            continue
        except (ssl.SSLError, OSError) as e:
            print("closed: %s" % e, file=sys.stderr)
            return
        if not data:
            print("closed: by the Hive", file=sys.stderr)
            return
        buf += data
        while len(buf) >= 4:
            (n,) = struct.unpack(">I", buf[:4])
            if len(buf) < 4 + n:
                break
            text = buf[4:4 + n].decode("utf-8", "replace")
            buf = buf[4 + n:]
            print(text, flush=True)
            if until and '"type":"%s"' % until in text:
                return


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("ca", nargs="?")
    ap.add_argument("cert", nargs="?")
    ap.add_argument("key", nargs="?")
    ap.add_argument("--read", type=float, default=2.0)
    ap.add_argument("--until")
    ap.add_argument("--idle", type=int, default=0)
    ap.add_argument("--hold", type=float, default=5.0)
    a = ap.parse_args()
    if a.idle:
        held = []
        for _ in range(a.idle):
            try:
                held.append(socket.create_connection(("127.0.0.1", a.port)))
            except OSError:
                break
        print("opened %d" % len(held), flush=True)
        time.sleep(a.hold)
        return 0
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_verify_locations(a.ca)
    ctx.load_cert_chain(a.cert, a.key)
    raw = socket.create_connection(("127.0.0.1", a.port))
    sock = ctx.wrap_socket(raw, server_hostname="localhost")
    for line in sys.stdin:
        line = line.rstrip("\n")
        if not line:
            continue
        data = line.encode()
        sock.sendall(struct.pack(">I", len(data)) + data)
    frames(sock, time.monotonic() + a.read, a.until)
    return 0


if __name__ == "__main__":
    sys.exit(main())
