"""End-to-end: a TLS listener's certificates are reloaded without a restart. A broker with an SSL
listener (certificates made with openssl by certs.py) is sent SIGHUP after its key and certificate
file was replaced: connections accepted afterwards see the new certificate, a connection opened
before keeps working on the old one, and a broken file on a later SIGHUP leaves the last good
certificate in place (and says so in the log)."""

import hashlib
import os
import signal
import socket
import ssl
import struct
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from broker import Broker  # noqa: E402
from certs import Certs  # noqa: E402


def api_versions(sock):
    """An ApiVersions v0 round trip; returns its error code."""
    header = struct.pack(">hhih", 18, 0, 7, -1)
    sock.sendall(struct.pack(">i", len(header)) + header)
    size = struct.unpack(">i", sock.recv(4))[0]
    data = b""
    while len(data) < size:
        data += sock.recv(size - len(data))
    return struct.unpack(">ih", data[:6])[1]


class TlsReloadTest(unittest.TestCase):
    def test_sighup_reloads_certificates(self):
        certs = Certs(tempfile.mkdtemp(prefix="chronik-certs-", dir=os.environ.get("TEST_TMPDIR")))
        context = ssl.create_default_context(cafile=certs.ca)

        def connect(port):
            raw = socket.create_connection(("127.0.0.1", port), timeout=10)
            return context.wrap_socket(raw, server_hostname="localhost")

        def fingerprint(sock):
            return hashlib.sha256(sock.getpeercert(binary_form=True)).hexdigest()

        def replace_server_pem(content):
            # Written next to it and renamed, as an operator's tooling would.
            tmp = certs.server + ".new"
            with open(tmp, "w") as f:
                f.write(content)
            os.replace(tmp, certs.server)

        def wait_for_log(broker, text, count):
            deadline = time.time() + 20
            while time.time() < deadline and broker.read_log().count(text) < count:
                time.sleep(0.05)
            self.assertGreaterEqual(broker.read_log().count(text), count, broker.read_log()[-2000:])

        broker = Broker(listeners=[("PLAINTEXT", "PLAINTEXT"), ("SSL", "SSL")],
                        kafka_properties={"ssl.keystore.location": certs.server})
        with broker:
            port = broker.ports["SSL"]
            before = connect(port)
            old = fingerprint(before)
            self.assertEqual(api_versions(before), 0)

            key, crt = certs.issue("server-2", "/CN=localhost", san="DNS:localhost,IP:127.0.0.1")
            with open(key) as k, open(crt) as c:
                replace_server_pem(k.read() + c.read())
            broker.proc.send_signal(signal.SIGHUP)
            wait_for_log(broker, "TLS key, certificates and trust store reloaded", 1)

            after = connect(port)
            new = fingerprint(after)
            self.assertNotEqual(old, new)
            self.assertEqual(new, hashlib.sha256(ssl.PEM_cert_to_DER_cert(open(crt).read())).hexdigest())
            self.assertEqual(api_versions(after), 0)
            # The connection from before the reload carries on with its session.
            self.assertEqual(api_versions(before), 0)
            self.assertEqual(fingerprint(before), old)

            # A broken file: refused, logged, and the last good certificate stays.
            replace_server_pem("not a certificate\n")
            broker.proc.send_signal(signal.SIGHUP)
            wait_for_log(broker, "TLS settings not reloaded, the previous ones stay", 1)
            again = connect(port)
            self.assertEqual(fingerprint(again), new)
            self.assertEqual(api_versions(again), 0)
            for s in (before, after, again):
                s.close()
            self.assertEqual(broker.stop(), 0, broker.read_log()[-2000:])


if __name__ == "__main__":
    unittest.main(verbosity=2)
