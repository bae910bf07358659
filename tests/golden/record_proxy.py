#!/usr/bin/python3
"""Records the request frames a real client sends to a real broker: a loopback TCP proxy in front
of chronik_server, whose advertised port is the proxy's, so that every connection of the client
goes through it. Complements capture.py (a fake endpoint) for clients that need real answers to
reach their later requests: the Java client, franz-go, librdkafka 2.x.

    record_proxy.py --client NAME --out DIR -- COMMAND...

starts chronik_server (CHRONIK_SERVER) on a free port, the proxy on another, runs COMMAND with
{bootstrap} replaced by the proxy's address, and writes the first few frames of every
(API, version) the client sent as DIR/NAME/<seq>_<api>_v<version>.bin with a MANIFEST.tsv in the
format capture.py writes. Standard library only."""

import argparse
import re
import shutil
import socket
import struct
import subprocess
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))
from broker import Broker, free_port  # noqa: E402

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "chronik_protocol" / "schema"
PER_VERSION = 3  # frames kept per (API, version)


def api_table():
    """API key -> (the name of its schema file, as capture.py names frames; its newest version)."""
    table = {}
    for f in SCHEMA_DIR.glob("*.schema"):
        text = f.read_text()
        key = re.search(r"^key (\d+)$", text, re.M)
        versions = re.search(r"^versions \d+-(\d+)$", text, re.M)
        if key and versions:
            table[int(key.group(1))] = (f.stem, int(versions.group(1)))
    return table


class Recorder:
    def __init__(self):
        self.lock = threading.Lock()
        self.frames = []  # (api_key, version, correlation_id, client_id, bytes)
        self.counts = {}

    def add(self, frame):
        if len(frame) < 8:
            return
        key, version, corr = struct.unpack(">hhi", frame[:8])
        client_id = "-"
        if len(frame) >= 10:
            n = struct.unpack(">h", frame[8:10])[0]
            if n >= 0:
                client_id = frame[10:10 + n].decode("utf-8", "replace")
        with self.lock:
            c = self.counts.get((key, version), 0)
            if c < PER_VERSION:
                self.counts[(key, version)] = c + 1
                self.frames.append((key, version, corr, client_id, frame))


def pump(src, dst, recorder):
    buf = b""
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
            if recorder is not None:
                buf += data
                while len(buf) >= 4:
                    size = struct.unpack(">i", buf[:4])[0]
                    if len(buf) < 4 + size:
                        break
                    recorder.add(buf[4:4 + size])
                    buf = buf[4 + size:]
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def serve(listener, target_port, recorder):
    while True:
        try:
            client, _ = listener.accept()
        except OSError:
            return
        upstream = socket.create_connection(("127.0.0.1", target_port))
        threading.Thread(target=pump, args=(client, upstream, recorder), daemon=True).start()
        threading.Thread(target=pump, args=(upstream, client, None), daemon=True).start()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--client", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--scenario", default="e2e")
    ap.add_argument("command", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    command = [c for c in args.command if c != "--"]

    proxy_port = free_port()
    broker = Broker(extra_args=["--advertised-addr", "127.0.0.1", "--advertised-port", str(proxy_port)],
                    kafka_properties={"group.initial.rebalance.delay.ms": 0}).start()
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", proxy_port))
    listener.listen(64)
    recorder = Recorder()
    threading.Thread(target=serve, args=(listener, broker.port, recorder), daemon=True).start()
    bootstrap = "127.0.0.1:%d" % proxy_port
    rc = subprocess.call([c.replace("{bootstrap}", bootstrap) for c in command])
    broker.stop()
    listener.close()
    shutil.rmtree(broker.tmp, ignore_errors=True)
    if rc != 0:
        sys.exit("the client command failed (%d)" % rc)

    table = api_table()
    # A client's first ApiVersions may be newer than any broker knows (the broker answers v0 and
    # the client retries): that probe is not a frame the codec claims to read.
    frames = [f for f in recorder.frames if f[0] in table and f[1] <= table[f[0]][1]]
    out = Path(args.out) / args.client
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    rows = ["file\tscenario\tapi_key\tapi_version\tcorrelation_id\tclient_id\tbytes"]
    for i, (key, version, corr, client_id, frame) in enumerate(frames, 1):
        name = "%03d_%s_v%d.bin" % (i, table[key][0], version)
        (out / name).write_bytes(frame)
        rows.append("\t".join([name, args.scenario, str(key), str(version), str(corr), client_id, str(len(frame))]))
    (out / "MANIFEST.tsv").write_text("\n".join(rows) + "\n")
    print("recorded %d frames of %d (API, version) pairs from %s" % (len(frames), len({f[:2] for f in frames}),
                                                                     args.client))


if __name__ == "__main__":
    main()
