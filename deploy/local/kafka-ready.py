#!/usr/bin/env python3
"""Readiness probe for the local Kafka broker: one real Metadata request (v4) over TCP,
after SASL/SCRAM authentication when credentials are given.

Exit 0 when the broker answers with at least one live (unfenced) broker in the
cluster metadata, 1 otherwise. Stdlib only; used by deploy/local/stack.sh and the tests'
private brokers.

usage: kafka-ready.py HOST:PORT [--timeout SECONDS] [--verbose]
                      [--sasl-username NAME --sasl-password-file FILE [--sasl-mechanism M]]
"""
import argparse
import base64
import hashlib
import hmac
import os
import socket
import struct
import sys

METADATA_API_KEY = 3
METADATA_VERSION = 4  # oldest version Kafka 4.x still serves; non-flexible encoding
SASL_HANDSHAKE_API_KEY, SASL_HANDSHAKE_VERSION = 17, 1
SASL_AUTHENTICATE_API_KEY, SASL_AUTHENTICATE_VERSION = 36, 1  # non-flexible
CLIENT_ID = b"lindung-stack-ready"


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

    def bytes_(self):
        n = self.take(">i")
        if n < 0:
            return None
        value = self.data[self.pos:self.pos + n]
        self.pos += n
        return value


def _string(value):
    data = value.encode("utf-8")
    return struct.pack(">h", len(data)) + data


class _Connection:
    def __init__(self, sock):
        self.sock, self.correlation_id = sock, 0x4C44  # arbitrary start

    def call(self, api_key, version, body):
        """One request (header v1), the response body after the correlation id."""
        self.correlation_id += 1
        header = struct.pack(">hhi", api_key, version, self.correlation_id) + _string(
            CLIENT_ID.decode()
        )
        request = header + body
        self.sock.sendall(struct.pack(">i", len(request)) + request)
        size = struct.unpack(">i", _recv_exact(self.sock, 4))[0]
        r = _Reader(_recv_exact(self.sock, size))
        if r.take(">i") != self.correlation_id:
            raise ValueError("unexpected correlation id in response")
        return r


def _scram_authenticate(conn, mechanism, username, password):
    """SASL handshake, then the SCRAM exchange (RFC 5802) in two SaslAuthenticate rounds."""
    r = conn.call(SASL_HANDSHAKE_API_KEY, SASL_HANDSHAKE_VERSION, _string(mechanism))
    code = r.take(">h")
    if code:
        raise ValueError(f"SASL handshake refused (error {code}) for {mechanism}")
    digest = {"SCRAM-SHA-512": "sha512", "SCRAM-SHA-256": "sha256"}[mechanism]

    def authenticate(message):
        r = conn.call(
            SASL_AUTHENTICATE_API_KEY,
            SASL_AUTHENTICATE_VERSION,
            struct.pack(">i", len(message)) + message,
        )
        code, error = r.take(">h"), r.string()
        if code:
            raise ValueError(f"SASL authentication failed (error {code}): {error}")
        return r.bytes_() or b""

    name = username.replace("=", "=3D").replace(",", "=2C")
    nonce = base64.b64encode(os.urandom(24)).decode()
    client_first_bare = f"n={name},r={nonce}"
    server_first = authenticate(f"n,,{client_first_bare}".encode()).decode()
    fields = dict(item.split("=", 1) for item in server_first.split(","))
    if not fields["r"].startswith(nonce):
        raise ValueError("the server's SCRAM nonce does not extend ours")
    salted = hashlib.pbkdf2_hmac(
        digest, password.encode(), base64.b64decode(fields["s"]), int(fields["i"])
    )
    client_key = hmac.new(salted, b"Client Key", digest).digest()
    stored_key = hashlib.new(digest, client_key).digest()
    without_proof = f"c=biws,r={fields['r']}"
    auth_message = f"{client_first_bare},{server_first},{without_proof}".encode()
    signature = hmac.new(stored_key, auth_message, digest).digest()
    proof = bytes(a ^ b for a, b in zip(client_key, signature))
    server_final = authenticate(
        f"{without_proof},p={base64.b64encode(proof).decode()}".encode()
    ).decode()
    server_key = hmac.new(salted, b"Server Key", digest).digest()
    expected = base64.b64encode(hmac.new(server_key, auth_message, digest).digest()).decode()
    if server_final != f"v={expected}":
        raise ValueError("the server's SCRAM signature is wrong")


def probe(host, port, timeout, sasl=None):
    """``sasl``: (mechanism, username, password) or None for PLAINTEXT."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.settimeout(timeout)
        conn = _Connection(sock)
        if sasl:
            _scram_authenticate(conn, *sasl)
        body = struct.pack(">i", 0)  # topics: empty array = no topic metadata, just brokers
        body += struct.pack(">b", 0)  # allow_auto_topic_creation = false
        r = conn.call(METADATA_API_KEY, METADATA_VERSION, body)
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
    ap.add_argument("--sasl-mechanism", default="SCRAM-SHA-512",
                    choices=("SCRAM-SHA-512", "SCRAM-SHA-256"))
    ap.add_argument("--sasl-username")
    ap.add_argument("--sasl-password-file", help="its first line is the password")
    args = ap.parse_args()
    host, _, port = args.bootstrap.rpartition(":")
    sasl = None
    if args.sasl_username:
        with open(args.sasl_password_file, encoding="utf-8") as f:
            password = f.readline().rstrip("\r\n")
        sasl = (args.sasl_mechanism, args.sasl_username, password)
    try:
        cluster_id, controller_id, brokers = probe(
            host or "127.0.0.1", int(port), args.timeout, sasl
        )
    except (OSError, ValueError, KeyError, struct.error) as exc:
        if args.verbose:
            print(f"kafka not ready at {args.bootstrap}: {exc}", file=sys.stderr)
        return 1
    if args.verbose:
        print(f"cluster_id={cluster_id} controller_id={controller_id} brokers={brokers}")
    return 0 if brokers else 1


if __name__ == "__main__":
    sys.exit(main())
