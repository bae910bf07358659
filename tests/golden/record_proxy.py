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
import shutil
import socket
import struct
import subprocess
import sys
import threading
import types
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))
from broker import Broker, free_port  # noqa: E402
sys.path.insert(0, str(Path(__file__).resolve().parent))
from capture import decodable, parse_request_header, write_output  # noqa: E402

PER_VERSION = 3  # frames kept per (API, version)


class Recorder:
    def __init__(self):
        self.lock = threading.Lock()
        self.frames = []  # (header as capture.parse_request_header returns it, bytes)
        self.counts = {}

    def add(self, frame):
        if len(frame) < 8:
            return
        try:
            header = parse_request_header(frame)
        except Exception:  # a frame the codec does not know; the golden test would not either
            return
        key, version = header[0], header[1]
        # A client's first ApiVersions may be newer than any broker knows (the broker answers v0
        # and the client retries): that probe is not a frame the codec claims to read.
        if not decodable(key, version):
            return
        with self.lock:
            c = self.counts.get((key, version), 0)
            if c < PER_VERSION:
                self.counts[(key, version)] = c + 1
                self.frames.append((header, frame))


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

    scenario = types.SimpleNamespace(name=args.scenario)
    chosen = {args.client: [(scenario, {"data": frame}, header) for header, frame in recorder.frames]}
    write_output(args.out, chosen, [args.client])
    print("recorded %d frames of %d (API, version) pairs from %s" % (len(recorder.frames), len(recorder.counts),
                                                                     args.client))


if __name__ == "__main__":
    main()
