"""Checks release archives (release/make_release.sh) the way a user meets them: each archive is
unpacked into an empty directory holding nothing but the runtime files of Debian 12's base C and
C++ libraries (libc6, libstdc++6, libgcc-s1, copied from this machine's packages of the archive's
architecture), and the broker is started from it inside a chroot; arm64 runs there under
qemu-aarch64-static. kcat on this machine then produces and consumes through it.

    tests/release/release_test.py COMMIT DIST_DIR

COMMIT is the commit the archives were built from (release/make_release.sh adds "-dirty" when the
tree had changes, which the test accepts too); DIST_DIR holds the archives and their SHA256SUMS.

Runs as root (chroot). Prints each archive's size and contents."""

import hashlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import unittest

RUNTIME_PACKAGES = ("libc6", "libstdc++6", "libgcc-s1")
# What the binary may link dynamically: glibc's libraries and the loader, libstdc++ and libgcc_s.
ALLOWED_NEEDED = {"libc.so.6", "libm.so.6", "libstdc++.so.6", "libgcc_s.so.1", "libdl.so.2", "libpthread.so.0",
                  "librt.so.1", "ld-linux-x86-64.so.2", "ld-linux-aarch64.so.1"}
MESSAGES = 2000

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
from broker import free_port  # noqa: E402

COMMIT = None
DIST = None


def make_root(root, arch):
    """A root with the usrmerge layout and the files of RUNTIME_PACKAGES for `arch`."""
    for d in ("usr/bin", "usr/sbin", "usr/lib", "usr/lib64", "tmp", "opt", "data"):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    for link in ("bin", "sbin", "lib", "lib64"):
        os.symlink("usr/" + link, os.path.join(root, link))
    os.chmod(os.path.join(root, "tmp"), 0o1777)
    for package in RUNTIME_PACKAGES:
        listed = subprocess.run(["dpkg", "-L", "%s:%s" % (package, arch)], capture_output=True, text=True,
                                check=True).stdout.split("\n")
        for path in listed:
            if not path or os.path.isdir(path) and not os.path.islink(path):
                continue
            if path.startswith("/usr/share/"):
                continue  # documentation and locales: nothing the binary runs with
            dest = root + path
            if os.path.lexists(dest):
                continue  # /lib and the like: the root has usrmerge's links already
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            if os.path.islink(path):
                os.symlink(os.readlink(path), dest)
            elif os.path.exists(path):
                shutil.copy2(path, dest)


class ReleaseArchiveTest(unittest.TestCase):
    def test_archives(self):
        archives = sorted(os.path.join(DIST, f) for f in os.listdir(DIST) if f.endswith(".tar.gz"))
        self.assertEqual([a.rsplit("-", 1)[1] for a in archives], ["amd64.tar.gz", "arm64.tar.gz"])
        with open(os.path.join(DIST, "SHA256SUMS")) as f:
            sums = dict(reversed(line.split()) for line in f if line.strip())
        for archive in archives:
            with open(archive, "rb") as f:
                self.assertEqual(sums.get(os.path.basename(archive)), hashlib.sha256(f.read()).hexdigest())
        for archive in archives:
            with self.subTest(os.path.basename(archive)):
                self.check_archive(archive)

    def check_archive(self, archive):
        name = os.path.basename(archive)[:-len(".tar.gz")]
        arch = name.rsplit("-", 1)[1]
        with tarfile.open(archive) as tar:
            members = sorted(m.name for m in tar.getmembers())
            self.assertEqual(members, sorted([name, name + "/bin", name + "/bin/chronik_server", name + "/README.md",
                                              name + "/LICENSE", name + "/chronik.example.toml",
                                              name + "/chronik-server.service"]))
            sizes = {m.name[len(name) + 1:]: m.size for m in tar.getmembers() if m.isfile()}
            self.assertTrue(all(m.uid == 0 and m.gid == 0 for m in tar.getmembers()))
        print("%s: %d bytes; %s" % (os.path.basename(archive), os.path.getsize(archive),
                                    ", ".join("%s %d" % kv for kv in sorted(sizes.items()))))

        root = tempfile.mkdtemp(prefix="chronik-release-")
        try:
            make_root(root, arch)
            with tarfile.open(archive) as tar:
                tar.extractall(os.path.join(root, "opt"))
            binary = "/opt/%s/bin/chronik_server" % name

            needed = subprocess.run(["readelf", "-d", root + binary], capture_output=True, text=True,
                                    check=True).stdout
            libs = {line.split("[", 1)[1].rstrip("]") for line in needed.splitlines() if "(NEEDED)" in line}
            print("  %s links dynamically: %s" % (arch, " ".join(sorted(libs))))
            self.assertLessEqual(libs, ALLOWED_NEEDED)

            prefix = ["chroot", root]
            if arch == "arm64":
                shutil.copy2("/usr/bin/qemu-aarch64-static", os.path.join(root, "qemu-aarch64-static"))
                prefix.append("/qemu-aarch64-static")
            elif arch != "amd64":
                self.fail("unknown architecture " + arch)

            version = subprocess.run(prefix + [binary, "version"], capture_output=True, text=True, timeout=60)
            self.assertEqual(version.returncode, 0, version.stderr)
            self.assertRegex(version.stdout, r"\ncommit: %s(-dirty)?\n" % re.escape(COMMIT))
            self.assertIn("\narchitecture: linux-%s\n" % arch, version.stdout)
            self.assertIn("-c opt (optimized)", version.stdout)
            self.assertIn("linkage: third-party libraries static", version.stdout)

            self.verify_unit(root, name, binary)
            self.serve_kcat(prefix, binary, name, root)
            self.refuse_sasl_without_cyrus(prefix, binary, root)
        finally:
            shutil.rmtree(root, ignore_errors=True)

    def serve_kcat(self, prefix, binary, name, root):
        """The example config, with this test's ports and data directory on the command line."""
        port, metrics, admin = free_port(), free_port(), free_port()
        log = open(os.path.join(root, "broker.log"), "wb")
        proc = subprocess.Popen(prefix + [binary, "--config", "/opt/%s/chronik.example.toml" % name,
                                          "--data-dir", "/data", "--bind-addr", "127.0.0.1",
                                          "--advertised-addr", "127.0.0.1", "--kafka-port", str(port),
                                          "--metrics-port", str(metrics), "--admin-port", str(admin),
                                          "standalone"], stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.time() + 60
            while True:
                self.assertIsNone(proc.poll(), self.read(root, "broker.log"))
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    self.assertLess(time.time(), deadline, "the broker did not listen within 60 s")
                    time.sleep(0.1)
            bootstrap = "127.0.0.1:%d" % port
            sent = "".join("key-%d\tvalue-%d\n" % (i, i) for i in range(MESSAGES))
            p = subprocess.run(["kcat", "-b", bootstrap, "-P", "-t", "release", "-K", "\t", "-z", "zstd",
                                "-X", "acks=all"], input=sent, capture_output=True, text=True, timeout=120)
            self.assertEqual(p.returncode, 0, p.stderr)
            c = subprocess.run(["kcat", "-b", bootstrap, "-C", "-t", "release", "-o", "beginning", "-e", "-q",
                                "-f", "%k\t%s\n"], capture_output=True, text=True, timeout=120)
            self.assertEqual(c.returncode, 0, c.stderr)
            self.assertEqual(sorted(c.stdout.splitlines()), sorted(sent.splitlines()))
        finally:
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(60)
            log.close()
        self.assertEqual(code, 0, self.read(root, "broker.log"))

    def verify_unit(self, root, name, binary):
        """systemd's own check of the unit, with ExecStart pointed at the unpacked binary."""
        with open(os.path.join(root, "opt", name, "chronik-server.service")) as f:
            unit = f.read()
        self.assertIn("ExecStart=/usr/local/bin/chronik_server ", unit)
        units = tempfile.mkdtemp(prefix="chronik-unit-")
        try:
            path = os.path.join(units, "chronik-server.service")
            with open(path, "w") as f:
                f.write(unit.replace("ExecStart=/usr/local/bin/chronik_server ", "ExecStart=%s%s " % (root, binary)))
            out = subprocess.run(["systemd-analyze", "verify", path], capture_output=True, text=True, timeout=60)
            self.assertEqual(out.returncode, 0, out.stderr)
            self.assertNotIn("chronik-server.service", out.stderr)
        finally:
            shutil.rmtree(units)

    def refuse_sasl_without_cyrus(self, prefix, binary, root):
        """No libsasl2 in the root: a SASL listener is refused with what to install."""
        port = free_port()
        config = os.path.join(root, "sasl.toml")
        with open(config, "w") as f:
            f.write('[kafka]\nlisteners = "SASL_PLAINTEXT://127.0.0.1:%d"\n' % port)
        out = subprocess.run(prefix + [binary, "--config", "/sasl.toml", "--data-dir", "/data-sasl",
                                       "--metrics-port", str(free_port()), "--admin-port", str(free_port()),
                                       "standalone"], capture_output=True, text=True, timeout=60,
                             env=dict(os.environ, CHRONIK_BOOTSTRAP_USER="admin:secret"))
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("apt-get install libsasl2-2 libsasl2-modules", out.stderr + out.stdout)

    @staticmethod
    def read(root, path):
        with open(os.path.join(root, path), "rb") as f:
            return f.read().decode("utf-8", "replace")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    COMMIT = sys.argv[1]
    DIST = os.path.abspath(sys.argv[2])
    unittest.main(argv=sys.argv[:1], verbosity=2)
