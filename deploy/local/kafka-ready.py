#!/usr/bin/env python3
"""Readiness probe for the local Kafka broker: one real Metadata request (v4) over TCP.

Exit 0 when the broker answers with at least one live (unfenced) broker in the
cluster metadata, 1 otherwise. Stdlib only; used by deploy/local/stack.sh.

usage: kafka-ready.py HOST:PORT [--timeout SECONDS] [--verbose]
"""
import argparse
import socket
import struct
import sys

METADATA_API_KEY = 3
METADATA_VERSION = 4  # oldest version Kafka 4.x still serves; non-flexible encoding


def _recv_exact(sock, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("connection closed by broker")
        buf += chunk
    return bytes(buf)


class _Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def take(self, fmt):
        (value,) = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += struct.calcsize(fmt)
        return value

    def string(self):
        n = self.take(">h")
        if n < 0:
            return None
        value = self.data[self.pos:self.pos + n].decode("utf-8")
        self.pos += n
        return value


def probe(host, port, timeout):
    client_id = b"lindung-stack-ready"
    correlation_id = 0x4C44  # arbitrary
    body = struct.pack(">i", 0)  # topics: empty array = no topic metadata, just brokers
    body += struct.pack(">b", 0)  # allow_auto_topic_creation = false
    header = struct.pack(">hhih", METADATA_API_KEY, METADATA_VERSION, correlation_id, len(client_id)) + client_id
    request = header + body
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.settimeout(timeout)
        sock.sendall(struct.pack(">i", len(request)) + request)
        size = struct.unpack(">i", _recv_exact(sock, 4))[0]
        r = _Reader(_recv_exact(sock, size))
    if r.take(">i") != correlation_id:
        raise ValueError("unexpected correlation id in response")
    r.take(">i")  # throttle_time_ms
    brokers = []
    for _ in range(r.take(">i")):
        node_id = r.take(">i")
        bhost = r.string()
        bport = r.take(">i")
        r.string()  # rack
        brokers.append((node_id, bhost, bport))
    cluster_id = r.string()
    controller_id = r.take(">i")
    return cluster_id, controller_id, brokers


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("bootstrap", help="HOST:PORT")
    ap.add_argument("--timeout", type=float, default=3.0)
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    host, _, port = args.bootstrap.rpartition(":")
    try:
        cluster_id, controller_id, brokers = probe(host or "127.0.0.1", int(port), args.timeout)
    except (OSError, ValueError, struct.error) as exc:
        if args.verbose:
            print(f"kafka not ready at {args.bootstrap}: {exc}", file=sys.stderr)
        return 1
    if args.verbose:
        print(f"cluster_id={cluster_id} controller_id={controller_id} brokers={brokers}")
    return 0 if brokers else 1


if __name__ == "__main__":
    sys.exit(main())
