"""Test certificates made with the openssl command line: a CA, a server certificate for
localhost/127.0.0.1, client certificates (one per name), an expired one and one from another CA."""

import os
import subprocess


def _run(*args):
    subprocess.run(["openssl"] + list(args), check=True, capture_output=True)


class Certs:
    def __init__(self, directory):
        self.dir = directory
        os.makedirs(directory, exist_ok=True)
        self.ca_key, self.ca = self._ca("ca", "Chronik Test CA")
        self.other_ca_key, self.other_ca = self._ca("other-ca", "Somebody Else's CA")
        key, crt = self.issue("server", "/CN=localhost", san="DNS:localhost,IP:127.0.0.1")
        # Key and chain in one PEM file: ssl.keystore.location.
        self.server = os.path.join(directory, "server.pem")
        with open(self.server, "w") as out, open(key) as k, open(crt) as c:
            out.write(k.read() + c.read())
        self.server_key, self.server_crt = key, crt

    def path(self, name):
        return os.path.join(self.dir, name)

    def _ca(self, name, cn):
        key, crt = self.path(name + ".key"), self.path(name + ".pem")
        _run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", crt, "-days", "2",
             "-subj", "/CN=" + cn)
        return key, crt

    def issue(self, name, subject, san=None, days="2", ca=None):
        """A key and certificate for `subject` ("/CN=alice/O=Example") signed by the test CA (or `ca`,
        a (key, cert) pair); days="-1" makes one that has already expired."""
        ca_key, ca_crt = ca or (self.ca_key, self.ca)
        key, csr, crt = self.path(name + ".key"), self.path(name + ".csr"), self.path(name + ".crt")
        _run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj", subject)
        args = ["x509", "-req", "-in", csr, "-CA", ca_crt, "-CAkey", ca_key, "-CAcreateserial", "-out", crt,
                "-days", days]
        if san:
            ext = self.path(name + ".ext")
            with open(ext, "w") as f:
                f.write("subjectAltName=%s\n" % san)
            args += ["-extfile", ext]
        _run(*args)
        return key, crt
