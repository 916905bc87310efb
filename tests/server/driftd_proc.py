"""Runs a real driftd binary for the end-to-end tests, the scale-out test and
the load benchmark: free loopback port, a store in a temp directory, health
polling, SIGTERM / kill -9 / restart on the same store.

Also puts clients/python on sys.path so `import driftd` works from the
checkout (the import generates the gRPC stubs from proto/ when they are
missing or stale).

Never leaves a process behind: stop() is idempotent and the fixtures call it.
"""
import os
import signal
import socket
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CLIENT_DIR = os.path.join(ROOT, "clients", "python")
if CLIENT_DIR not in sys.path:
    sys.path.insert(0, CLIENT_DIR)

import driftd  # noqa: E402


def free_port():
    """A loopback TCP port that was free a moment ago (the server refuses
    to share ports, so a lost race shows up as a failed start and a retry)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Driftd:
    """One driftd process. flags: extra --key=value settings (dict). http:
    open the HTTP side port on a free loopback port (http_url); off by
    default, so servers started side by side never compete for one port."""

    def __init__(self, binary, workdir, flags=None, name="driftd", http=False, client_kw=None):
        self.binary = os.path.abspath(binary)  # the process runs in workdir
        self.workdir = workdir
        self.flags = dict(flags or {})
        self.name = name
        self.store = os.path.join(workdir, name + ".db")
        self.log_path = os.path.join(workdir, name + ".log")
        self.port = None
        self.http = http
        self.http_port = None
        self.proc = None
        # Client arguments every client of this server needs (TLS, token).
        self.client_kw = dict(client_kw or {})

    @property
    def target(self):
        return "127.0.0.1:%d" % self.port

    @property
    def http_url(self):
        scheme = "https" if "tls_cert" in self.flags else "http"
        return "%s://127.0.0.1:%d" % (scheme, self.http_port)

    def args(self):
        flags = {"listen": self.target, "store_path": self.store, "backend": "cpu",
                 "log_level": "warn", "threads": 2, "grace_s": 5,
                 "http_listen": "127.0.0.1:%d" % self.http_port if self.http else "off"}
        flags.update(self.flags)
        return [self.binary] + ["--%s=%s" % (k, v) for k, v in flags.items()]

    def start(self, timeout=30.0, keep_port=False):
        """Starts the server and waits until its health check says SERVING.
        A restart reuses the port when keep_port (so clients and proxies find
        it again)."""
        for attempt in range(5):
            if not (keep_port and self.port):
                self.port = free_port()
                self.http_port = free_port() if self.http else None
            log = open(self.log_path, "ab")
            self.proc = subprocess.Popen(self.args(), stdout=log, stderr=subprocess.STDOUT,
                                         cwd=self.workdir)
            log.close()
            if self._wait_serving(timeout):
                return self
            self.stop(signal.SIGKILL)
            if keep_port:
                time.sleep(0.5)  # the old socket may linger briefly
        raise RuntimeError("%s did not become SERVING; log:\n%s" % (self.name, self.log_tail()))

    def _wait_serving(self, timeout):
        deadline = time.monotonic() + timeout
        with driftd.Client(self.target, **dict(self.client_kw, timeout=1.0)) as c:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    return False
                try:
                    if c.health() == "SERVING":
                        return True
                except driftd.DriftdError:
                    pass
                time.sleep(0.05)
        return False

    def client(self, **kw):
        kw = dict(self.client_kw, **kw)
        kw.setdefault("timeout", 30.0)
        return driftd.Client(self.target, **kw)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def send_signal(self, sig):
        if self.alive():
            self.proc.send_signal(sig)

    def wait(self, timeout=30.0):
        """Waits for exit; returns the exit status (negative: killed by signal)."""
        return self.proc.wait(timeout)

    def stop(self, sig=signal.SIGTERM, timeout=30.0):
        """Stops the process (SIGTERM: graceful; SIGKILL: crash); returns
        its exit status, None when it was not running."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        rc = self.proc.returncode
        self.proc = None
        return rc

    def restart(self, sig=signal.SIGTERM):
        self.stop(sig)
        return self.start(keep_port=True)

    SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error: ",
                       "WARNING: ThreadSanitizer")

    def sanitizer_report(self, n=3000):
        """The sanitizer report in the server's log (an ASan/UBSan build
        writes it there: a leak at exit, a runtime error), or None."""
        try:
            with open(self.log_path, "rb") as f:
                text = f.read().decode("utf-8", "replace")
        except OSError:
            return None
        hits = [text.find(m) for m in self.SANITIZER_MARKS if m in text]
        return text[min(hits):min(hits) + n] if hits else None

    def log_tail(self, n=4000):
        try:
            with open(self.log_path, "rb") as f:
                return f.read()[-n:].decode("utf-8", "replace")
        except OSError:
            return ""
