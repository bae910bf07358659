"""Real object-store servers on loopback for the end-to-end tests: versitygw (S3, checks SigV4) and
Azurite (Azure Blob, checks Shared Key), as tests/run_all.sh installs them under tests/objstore, and
the one request a test needs of each before the broker uses it: creating the bucket or container."""

import base64
import datetime
import hashlib
import hmac
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.request

from broker import free_port
from certs import Certs

HERE = os.path.dirname(os.path.abspath(__file__))
OBJSTORE = os.path.join(HERE, "..", "objstore")

S3_ACCESS = "chronik-e2e-access"
S3_SECRET = "chronik-e2e-secret-0123456789"
AZURE_ACCOUNT = "devstoreaccount1"
AZURE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


class Server:
    def __init__(self, name, argv_for, env_for, parent=None, tls=False):
        """parent: the directory the server's data goes under (default: a temp dir). tls: serve HTTPS
        with a certificate for localhost from a test CA of its own (self.certs.ca, which clients
        must trust)."""
        self.tmp = tempfile.mkdtemp(prefix="chronik-%s-" % name, dir=parent or os.environ.get("TEST_TMPDIR"))
        self.dir = os.path.join(self.tmp, "data")
        os.makedirs(self.dir)
        self.port = free_port()
        self.certs = None
        self.scheme, self.host, self.ssl_context = "http", "127.0.0.1", None
        if tls:
            self.certs = Certs(os.path.join(self.tmp, "certs"))  # the server's names localhost and 127.0.0.1
            self.scheme, self.host = "https", "localhost"
            self.ssl_context = ssl.create_default_context(cafile=self.certs.ca)
        self.argv = argv_for(self)
        self.env = env_for(self)
        self.name = name
        self.log = open(os.path.join(self.tmp, name + ".log"), "ab")
        self.start()

    def start(self):
        self.proc = subprocess.Popen(self.argv, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("%s exited at start: see %s" % (self.name, self.log.name))
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("%s did not listen within 60 s" % self.name)

    def kill(self, sig=signal.SIGKILL):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            self.proc.wait(20)

    def stop(self):
        self.kill(signal.SIGTERM)
        self.log.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


def tls_args(server):
    return ["--cert", server.certs.server_crt, "--key", server.certs.server_key] if server.certs else []


def tls_env(server):
    return {"OBJECT_STORE_CA_FILE": server.certs.ca} if server.certs else {}


def start_versitygw(bucket, parent=None, tls=False):
    binary = os.path.join(OBJSTORE, "bin", "versitygw")
    if not os.path.exists(binary):
        raise RuntimeError("%s is missing: tests/run_all.sh builds it" % binary)
    server = Server("versitygw",
                    lambda s: [binary, "--port", "127.0.0.1:%d" % s.port, "--access", S3_ACCESS, "--secret", S3_SECRET,
                               "--quiet"] + tls_args(s) + ["posix", s.dir],
                    lambda s: dict({"STORAGE_BACKEND": "s3", "S3_BUCKET": bucket, "S3_REGION": "us-east-1",
                                    "S3_ENDPOINT": "%s://%s:%d" % (s.scheme, s.host, s.port),
                                    "AWS_ACCESS_KEY_ID": S3_ACCESS, "AWS_SECRET_ACCESS_KEY": S3_SECRET}, **tls_env(s)),
                    parent, tls)
    s3_request(server, "PUT", "/" + bucket)
    return server


def start_azurite(container, parent=None, tls=False):
    main = os.path.join(OBJSTORE, "js", "node_modules", "azurite", "dist", "src", "blob", "main.js")
    if not os.path.exists(main):
        raise RuntimeError("%s is missing: tests/run_all.sh installs it" % main)
    server = Server("azurite",
                    lambda s: ["node", main, "--blobHost", "127.0.0.1", "--blobPort", str(s.port), "--location", s.dir,
                               "--disableTelemetry", "--silent", "--skipApiVersionCheck"] + tls_args(s),
                    lambda s: dict({"STORAGE_BACKEND": "azure", "AZURE_STORAGE_ACCOUNT": AZURE_ACCOUNT,
                                    "AZURE_STORAGE_KEY": AZURE_KEY, "AZURE_CONTAINER": container,
                                    "AZURE_STORAGE_ENDPOINT": "%s://%s:%d/%s" % (s.scheme, s.host, s.port, AZURE_ACCOUNT)},
                                   **tls_env(s)),
                    parent, tls)
    azure_request(server, "PUT", "/%s/%s" % (AZURE_ACCOUNT, container), "restype=container")
    return server


def s3_request(server, method, path, query=""):
    """One SigV4-signed request with an empty body; returns (status, body)."""
    now = datetime.datetime.utcnow()
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    host = "%s:%d" % (server.host, server.port)
    payload = hashlib.sha256(b"").hexdigest()
    canonical = "\n".join([method, path, query, "host:%s\nx-amz-content-sha256:%s\nx-amz-date:%s\n" % (host, payload, amz_date),
                           "host;x-amz-content-sha256;x-amz-date", payload])
    scope = "%s/us-east-1/s3/aws4_request" % amz_date[:8]
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = ("AWS4" + S3_SECRET).encode()
    for part in (amz_date[:8], "us-east-1", "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    req = urllib.request.Request("%s://%s%s%s" % (server.scheme, host, path, "?" + query if query else ""),
                                 method=method, headers={
        "x-amz-date": amz_date, "x-amz-content-sha256": payload,
        "Authorization": "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=host;x-amz-content-sha256;x-amz-date, "
                         "Signature=%s" % (S3_ACCESS, scope, signature)})
    with urllib.request.urlopen(req, timeout=10, context=server.ssl_context) as r:
        return r.status, r.read()


def s3_keys(server, bucket, prefix):
    status, body = s3_request(server, "GET", "/" + bucket, "list-type=2&prefix=" + urllib.request.quote(prefix, safe=""))
    return [part.split("</Key>")[0] for part in body.decode().split("<Key>")[1:]]


def azure_request(server, method, path, query=""):
    """One Shared Key request with an empty body; returns (status, body)."""
    date = datetime.datetime.utcnow().strftime("%a, %d %b %Y %H:%M:%S GMT")
    headers = {"x-ms-date": date, "x-ms-version": "2021-08-06"}
    canonical_headers = "".join("%s:%s\n" % (k, headers[k]) for k in sorted(headers))
    resource = "/%s%s" % (AZURE_ACCOUNT, path)
    params = sorted(p.split("=", 1) for p in query.split("&") if p)
    for name, value in params:
        resource += "\n%s:%s" % (name.lower(), urllib.request.unquote(value))
    # urllib sends a Content-Type with any body, so a PUT signs one.
    content_type = "application/octet-stream" if method == "PUT" else ""
    if content_type:
        headers["Content-Type"] = content_type
    to_sign = method + "\n" + "\n" * 4 + content_type + "\n" + "\n" * 6 + canonical_headers + resource
    signature = base64.b64encode(hmac.new(base64.b64decode(AZURE_KEY), to_sign.encode(), hashlib.sha256).digest())
    headers["Authorization"] = "SharedKey %s:%s" % (AZURE_ACCOUNT, signature.decode())
    req = urllib.request.Request("%s://%s:%d%s%s" % (server.scheme, server.host, server.port, path,
                                                      "?" + query if query else ""),
                                 method=method, headers=headers, data=b"" if method == "PUT" else None)
    with urllib.request.urlopen(req, timeout=10, context=server.ssl_context) as r:
        return r.status, r.read()


def azure_keys(server, container, prefix):
    status, body = azure_request(server, "GET", "/%s/%s" % (AZURE_ACCOUNT, container),
                                 "comp=list&prefix=%s&restype=container" % urllib.request.quote(prefix, safe=""))
    return [part.split("</Name>")[0] for part in body.decode().split("<Name>")[1:]]
