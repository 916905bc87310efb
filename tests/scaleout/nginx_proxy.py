"""An nginx gRPC proxy in a temp directory, for the scale-out test: run as
the current user (`nginx -p DIR -c DIR/nginx.conf -g 'daemon off;'`), pid,
logs and temp files inside DIR, one upstream of driftd instances hashed on
the x-model-id header with consistent (ketama) hashing, an HTTP/2 listener on
loopback, unbounded request bodies (client-streaming calls), and an access
log naming the instance that served each call.

Never touches the system's nginx configuration or its default paths.
"""
import os
import pwd
import shutil
import signal
import subprocess
import time

CONF = """\
{user}worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    log_format routed '$http_x_model_id $upstream_addr $status $request_uri';
    access_log {dir}/access.log routed;
    client_body_temp_path {dir}/tmp/body;
    proxy_temp_path {dir}/tmp/proxy;
    fastcgi_temp_path {dir}/tmp/fastcgi;
    uwsgi_temp_path {dir}/tmp/uwsgi;
    scgi_temp_path {dir}/tmp/scgi;
    upstream driftd {{
        hash $http_x_model_id consistent;
{servers}
    }}
    server {{
        listen 127.0.0.1:{port} http2;
        client_max_body_size 0;
        grpc_read_timeout 300s;
        grpc_send_timeout 300s;
        location / {{
            grpc_pass grpc://driftd;
        }}
    }}
}}
"""


def nginx_binary():
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None)


class Nginx:
    def __init__(self, workdir, port, upstreams):
        self.dir = os.path.join(workdir, "nginx")
        self.port = port
        self.upstreams = list(upstreams)
        self.proc = None

    @property
    def target(self):
        return "127.0.0.1:%d" % self.port

    def write_config(self):
        os.makedirs(os.path.join(self.dir, "tmp"), exist_ok=True)
        # A master started as root would run its workers as "nobody"; keep them
        # as the current user so they can use the temp directory.
        user = ("user %s;\n" % pwd.getpwuid(os.geteuid()).pw_name) if os.geteuid() == 0 else ""
        servers = "\n".join("        server %s max_fails=1 fail_timeout=60s;" % u
                            for u in self.upstreams)
        path = os.path.join(self.dir, "nginx.conf")
        with open(path, "w") as f:
            f.write(CONF.format(user=user, dir=self.dir, port=self.port, servers=servers))
        return path

    def start(self, timeout=10.0):
        conf = self.write_config()
        log = open(os.path.join(self.dir, "stderr.log"), "ab")
        self.proc = subprocess.Popen([nginx_binary(), "-p", self.dir, "-c", conf,
                                      "-g", "daemon off;"], stdout=log, stderr=log)
        log.close()
        deadline = time.monotonic() + timeout
        import socket
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("nginx exited: %s" % self.read("stderr.log"))
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            time.sleep(0.05)
        raise RuntimeError("nginx did not listen on %d: %s" % (self.port, self.read("error.log")))

    def read(self, name):
        try:
            with open(os.path.join(self.dir, name)) as f:
                return f.read()
        except OSError:
            return ""

    def routes(self):
        """[(model id, upstream address, status)] from the access log, in
        order. upstream_addr lists every peer tried ("a, b") on retries: the
        last one served."""
        out = []
        for line in self.read("access.log").splitlines():
            parts = line.split(" ")
            model = parts[0]
            rest = " ".join(parts[1:]).rsplit(" ", 2)
            out.append((model, rest[0].split(", ")[-1], rest[1]))
        return out

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)  # graceful
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
