"""A real Prometheus Alertmanager for the alert delivery tests: Debian's
prometheus-alertmanager on a free loopback port, clustering off, a
temporary config and storage directory, and a webhook receiver that is a
small HTTP server in the test process recording every notification.

The route groups by model and rule name, waits 0.1 s before a group's first
notification, re-checks groups every second and repeats an unchanged one
only after an hour, so a test sees each change once. Never leaves a process
behind: stop() is idempotent.
"""
import http.server
import json
import os
import shutil
import subprocess
import threading
import time
import urllib.request

from driftd_proc import free_port


def alertmanager_binary():
    return shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")


class Receiver:
    """The webhook receiver: records Alertmanager's notifications (the
    decoded JSON bodies) in arrival order."""

    def __init__(self):
        self.notifications = []
        self._cv = threading.Condition()
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with owner._cv:
                    owner.notifications.append(json.loads(body))
                    owner._cv.notify_all()
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d/hook" % self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def alerts(self, status=None, **labels):
        """Every alert of every notification so far (status "firing" or
        "resolved" when given) whose labels include `labels`."""
        with self._cv:
            out = []
            for n in self.notifications:
                for a in n["alerts"]:
                    if status and a["status"] != status:
                        continue
                    if all(a["labels"].get(k) == v for k, v in labels.items()):
                        out.append(a)
            return out

    def wait_for(self, timeout=20.0, **kw):
        """Waits until alerts(**kw) is non-empty; returns it ([] on timeout)."""
        deadline = time.monotonic() + timeout
        with self._cv:
            while True:
                got = self.alerts(**kw)
                left = deadline - time.monotonic()
                if got or left <= 0:
                    return got
                self._cv.wait(left)

    def stop(self):
        self._server.shutdown()
        self._server.server_close()


CONFIG = """\
route:
  receiver: test
  group_by: [model, alertname]
  group_wait: 100ms
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: test
    webhook_configs:
      - url: %s
        send_resolved: true
"""


class Alertmanager:
    """One Alertmanager process posting every notification to receiver."""

    def __init__(self, workdir, receiver, port=None):
        self.workdir = workdir
        self.port = port or free_port()
        self.receiver = receiver
        self.proc = None
        self.log_path = os.path.join(workdir, "alertmanager.log")

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def start(self, timeout=30.0):
        config = os.path.join(self.workdir, "alertmanager.yml")
        with open(config, "w") as f:
            f.write(CONFIG % self.receiver.url)
        storage = os.path.join(self.workdir, "alertmanager-data")
        os.makedirs(storage, exist_ok=True)
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [alertmanager_binary(), "--config.file=" + config, "--storage.path=" + storage,
             "--web.listen-address=127.0.0.1:%d" % self.port, "--cluster.listen-address=",
             "--log.level=warn"],
            stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                with urllib.request.urlopen(self.url + "/-/ready", timeout=1) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        with open(self.log_path, "rb") as f:
            raise RuntimeError("alertmanager did not start; log:\n" +
                               f.read()[-4000:].decode("utf-8", "replace"))

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
