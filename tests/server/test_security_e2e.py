"""TLS, mutual TLS and bearer tokens, end to end: certificates made with
openssl at test time, real grpcio clients, the HTTP side port over HTTPS
with the same tokens (Bearer and Basic).

Each refused call must answer UNAUTHENTICATED or PERMISSION_DENIED with a
message that says what was missing; each allowed one must work."""
import base64
import os
import ssl
import subprocess
import urllib.error
import urllib.request

import grpc
import numpy as np
import pytest

import cases
import driftd
from cases import T0, WINDOW

TOKENS = {
    "ops": ("admin", "*", "ops-token-0123456789abcdef"),
    "fraud-writer": ("write", "fraud-", "fraud-writer-token-0123456789"),
    "reader": ("read", "*", "reader-token-0123456789abcdef"),
    "fraud-reader": ("read", "fraud-,shared-", "fraud-reader-token-01234567"),
}


def openssl(*args, cwd):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True, capture_output=True)


def make_ca(d, name):
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
            "/CN=%s" % name, "-keyout", name + ".key", "-out", name + ".pem", cwd=d)


def make_cert(d, ca, name, server):
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=%s" % name, "-keyout",
            name + ".key", "-out", name + ".csr", cwd=d)
    ext = os.path.join(d, name + ".ext")
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n" if server else
                "extendedKeyUsage=clientAuth\n")
    openssl("x509", "-req", "-in", name + ".csr", "-CA", ca + ".pem", "-CAkey", ca + ".key",
            "-CAcreateserial", "-days", "2", "-extfile", ext, "-out", name + ".pem", cwd=d)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("pki"))
    make_ca(d, "ca")
    make_ca(d, "rogue-ca")
    make_cert(d, "ca", "server", server=True)
    make_cert(d, "ca", "client", server=False)
    make_cert(d, "rogue-ca", "rogue", server=False)
    return lambda name: os.path.join(d, name)


@pytest.fixture(scope="module")
def token_file(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("auth") / "tokens")
    with open(path, "w") as f:
        f.write("# name role models token\n\n")
        for name, (role, models, tok) in TOKENS.items():
            f.write("%s %s %s %s\n" % (name, role, models, tok))
    os.chmod(path, 0o600)
    return path


def tok(name):
    return TOKENS[name][2]


def create(c, model):
    c.create_model(model, cases.schema(), window_seconds=[WINDOW])
    rng = np.random.default_rng(1)
    c.upload_reference(model, cases.frame(rng, 300), labels=rng.integers(0, 2, 300),
                       scores=rng.uniform(size=300))


def log(c, model, n=200):
    rng = np.random.default_rng(3)
    return c.log_predictions(model, cases.frame(rng, n), np.arange(1, n + 1),
                             T0 + np.linspace(0, 10, n), scores=rng.uniform(size=n))


def refused(fn, code):
    with pytest.raises(driftd.DriftdError) as info:
        fn()
    assert info.value.code == code, info.value
    return info.value.message


# ---------------------------------------------------------------- TLS

def test_tls_serves_tls_clients_only(server_factory, pki):
    server = server_factory(name="tls", flags={"tls_cert": pki("server.pem"),
                                               "tls_key": pki("server.key")},
                            client_kw={"tls_ca": pki("ca.pem")})
    with server.client() as c:
        create(c, "m")
        assert log(c, "m").rows == 200
    with driftd.Client(server.target, timeout=3, retry_s=0) as plain:
        refused(lambda: plain.list_models(), grpc.StatusCode.UNAVAILABLE)
    with driftd.Client(server.target, timeout=3, tls_ca=pki("rogue-ca.pem")) as wrong_ca:
        refused(lambda: wrong_ca.list_models(), grpc.StatusCode.UNAVAILABLE)


def test_mutual_tls_needs_a_certificate_the_ca_signed(server_factory, pki):
    server = server_factory(
        name="mtls",
        flags={"tls_cert": pki("server.pem"), "tls_key": pki("server.key"),
               "tls_client_ca": pki("ca.pem")},
        client_kw={"tls_ca": pki("ca.pem"), "tls_cert": pki("client.pem"),
                   "tls_key": pki("client.key")})
    with server.client() as c:
        create(c, "m")
        assert [m.model_id for m in c.list_models()] == ["m"]
    with driftd.Client(server.target, timeout=3, tls_ca=pki("ca.pem")) as no_cert:
        refused(lambda: no_cert.list_models(), grpc.StatusCode.UNAVAILABLE)
    with driftd.Client(server.target, timeout=3, tls_ca=pki("ca.pem"),
                       tls_cert=pki("rogue.pem"), tls_key=pki("rogue.key")) as rogue:
        refused(lambda: rogue.list_models(), grpc.StatusCode.UNAVAILABLE)


def test_container_health_probe_speaks_tls(server_factory, pki, driftd_bin):
    """docker/healthcheck.c, the image's probe: plaintext fails against a TLS
    server, DRIFTD_HEALTH_TLS_CA (and a client certificate under mutual
    TLS) makes it pass."""
    probe = os.environ.get("DRIFTD_HEALTHCHECK_BIN") or os.path.join(
        os.path.dirname(driftd_bin), "driftd-healthcheck")
    assert os.access(probe, os.X_OK), "build the driftd-healthcheck target: %s" % probe
    server = server_factory(
        name="tls-probe",
        flags={"tls_cert": pki("server.pem"), "tls_key": pki("server.key"),
               "tls_client_ca": pki("ca.pem")},
        client_kw={"tls_ca": pki("ca.pem"), "tls_cert": pki("client.pem"),
                   "tls_key": pki("client.key")})
    base = dict(os.environ, DRIFTD_HEALTH_TIMEOUT_S="3")

    def run(**env):
        return subprocess.run([probe, server.target], capture_output=True, text=True,
                              timeout=30, env=dict(base, **env))

    assert run().returncode == 1
    assert run(DRIFTD_HEALTH_TLS_CA=pki("ca.pem")).returncode == 1  # no client certificate
    ok = run(DRIFTD_HEALTH_TLS_CA=pki("ca.pem"), DRIFTD_HEALTH_TLS_CERT=pki("client.pem"),
             DRIFTD_HEALTH_TLS_KEY=pki("client.key"))
    assert ok.returncode == 0 and "SERVING" in ok.stdout, ok


# ---------------------------------------------------------------- tokens

@pytest.fixture(scope="module")
def auth_server(driftd_bin, tmp_path_factory, token_file, pki):
    from driftd_proc import Driftd
    d = Driftd(driftd_bin, str(tmp_path_factory.mktemp("auth-srv")), name="auth", http=True,
               flags={"auth_tokens": token_file, "tls_cert": pki("server.pem"),
                      "tls_key": pki("server.key")},
               client_kw={"tls_ca": pki("ca.pem")})
    d.start()
    with d.client(token=tok("ops")) as ops:
        for m in ("fraud-1", "churn-1"):
            create(ops, m)
            log(ops, m)
    yield d
    d.stop()


def test_calls_without_a_known_token_are_unauthenticated(auth_server):
    with auth_server.client() as anon:
        msg = refused(lambda: anon.list_models(), grpc.StatusCode.UNAUTHENTICATED)
        assert "ListModels" in msg and "authorization: Bearer <token>" in msg, msg
        assert anon.health() == "SERVING"  # health checks need no token
    with auth_server.client(token="not-a-token-of-this-server") as bad:
        msg = refused(lambda: bad.get_model("fraud-1"), grpc.StatusCode.UNAUTHENTICATED)
        assert "unknown token" in msg, msg


def test_roles_limit_the_methods(auth_server):
    with auth_server.client(token=tok("reader")) as r:
        assert sorted(m.model_id for m in r.list_models()) == ["churn-1", "fraud-1"]
        assert len(r.drift("churn-1")) > 0
        assert len(r.diagnosis("churn-1")) > 0  # GetDiagnosis is a read
        msg = refused(lambda: log(r, "fraud-1"), grpc.StatusCode.PERMISSION_DENIED)
        assert "LogPredictions needs role write" in msg and '"reader" has role read' in msg, msg
        msg = refused(lambda: r.delete_model("fraud-1"), grpc.StatusCode.PERMISSION_DENIED)
        assert "DeleteModel needs role admin" in msg, msg
    with auth_server.client(token=tok("fraud-writer")) as w:
        msg = refused(lambda: create(w, "fraud-2"), grpc.StatusCode.PERMISSION_DENIED)
        assert "CreateModel needs role admin" in msg, msg
        assert log(w, "fraud-1").rows == 200


def test_model_prefixes_limit_the_models(auth_server):
    with auth_server.client(token=tok("fraud-writer")) as w:
        msg = refused(lambda: log(w, "churn-1"), grpc.StatusCode.PERMISSION_DENIED)
        assert 'model "churn-1" is not among token "fraud-writer"' in msg, msg
        assert "fraud-*" in msg, msg
    with auth_server.client(token=tok("fraud-reader")) as r:
        assert [m.model_id for m in r.list_models()] == ["fraud-1"]
        msg = refused(lambda: r.drift("churn-1"), grpc.StatusCode.PERMISSION_DENIED)
        assert msg.startswith("model_id: "), msg
        msg = refused(lambda: r.diagnosis("churn-1"), grpc.StatusCode.PERMISSION_DENIED)
        assert msg.startswith("model_id: "), msg
        # Absent models under another prefix are refused, not "not found":
        # a token cannot probe which models exist.
        refused(lambda: r.get_model("churn-404"), grpc.StatusCode.PERMISSION_DENIED)
        refused(lambda: r.get_model("fraud-404"), grpc.StatusCode.NOT_FOUND)
    with auth_server.client(token=tok("ops")) as ops:
        assert ops.get_model("churn-1").n_predictions == 200


# ------------------------------------------------------------ HTTP side

def http_get(server, pki, path, auth=None):
    ctx = ssl.create_default_context(cafile=pki("ca.pem"))
    req = urllib.request.Request(server.http_url + path)
    if auth:
        req.add_header("Authorization", auth)
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=30) as resp:
            return resp.status, resp.headers, resp.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode()


def test_http_side_port_speaks_https_and_follows_the_tokens(auth_server, pki):
    assert auth_server.http_url.startswith("https://")
    status, headers, body = http_get(auth_server, pki, "/metrics")
    assert status == 401 and headers["WWW-Authenticate"].startswith("Basic"), (status, body)
    status, _, body = http_get(auth_server, pki, "/metrics", "Bearer nope-nope-nope-nope")
    assert status == 401 and "unknown token" in body
    status, _, body = http_get(auth_server, pki, "/metrics", "Bearer " + tok("reader"))
    assert status == 200 and 'model="churn-1"' in body and 'model="fraud-1"' in body
    basic = "Basic " + base64.b64encode(("anyone:" + tok("fraud-reader")).encode()).decode()
    status, _, body = http_get(auth_server, pki, "/metrics", basic)
    assert status == 200 and 'model="fraud-1"' in body and 'model="churn-1"' not in body, body
    status, _, body = http_get(auth_server, pki, "/api/v1/models", basic)
    assert status == 200 and "fraud-1" in body and "churn-1" not in body, body
    status, _, body = http_get(auth_server, pki, "/models/churn-1", basic)
    assert status == 403 and "fraud-reader" in body, (status, body)
    status, _, body = http_get(auth_server, pki, "/api/v1/models/churn-1/drift", basic)
    assert status == 403, (status, body)
    status, _, _ = http_get(auth_server, pki, "/models/fraud-1", basic)
    assert status == 200


# ------------------------------------------------------------ settings

@pytest.mark.parametrize("flags,expect", [
    ({"tls_cert": "server.pem"}, "tls_cert and tls_key go together"),
    ({"tls_client_ca": "ca.pem"}, "tls_client_ca needs tls_cert and tls_key"),
    ({"tls_cert": "server.pem", "tls_key": "missing.key"}, "tls_key: "),
    ({"tls_cert": "tokens", "tls_key": "server.key"}, "not PEM"),
])
def test_bad_tls_settings_stop_the_start_naming_the_setting(server_factory, pki, token_file,
                                                            flags, expect):
    flags = {k: (token_file if v == "tokens" else pki(v)) for k, v in flags.items()}
    server = server_factory(name="bad-tls", flags=flags, start=False)
    server.port = 1  # never listened on: the settings stop the start first
    proc = subprocess.run(server.args(), capture_output=True, text=True, timeout=30,
                          cwd=server.workdir)
    assert proc.returncode == 1, proc
    assert expect in proc.stderr + proc.stdout, proc.stderr


@pytest.mark.parametrize("line,expect", [
    ("a superuser * 0123456789abcdef0123", "line 2: role \"superuser\"; expected read, write"),
    ("a read * short", "line 2: token of 5 characters; expected 16..256"),
    ("a read fraud-/x 0123456789abcdef0123", "prefix \"fraud-/x\" has '/'"),
    ("a read *", "line 2: 3 fields; expected 4"),
    ("ops read * 0123456789abcdef0123", "line 2: name \"ops\" used twice"),
])
def test_bad_token_files_name_the_line(server_factory, tmp_path, line, expect):
    path = tmp_path / "tokens"
    path.write_text("ops admin * ops-token-0123456789abcdef\n%s\n" % line)
    server = server_factory(name="bad-tokens", flags={"auth_tokens": str(path)}, start=False)
    server.port = 1
    proc = subprocess.run(server.args(), capture_output=True, text=True, timeout=30,
                          cwd=server.workdir)
    assert proc.returncode == 1, proc
    assert expect in proc.stderr + proc.stdout, proc.stderr
