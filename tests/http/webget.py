"""Plain HTTP requests for the HTTP tests (the standard library's client:
what a script reading the JSON API would use)."""
import json
import urllib.error
import urllib.request


def http_get(url, method="GET", timeout=60):
    """(status, headers, body bytes) of one request; errors are answers too."""
    req = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def get_json(url):
    status, _, body = http_get(url)
    assert status == 200, (url, status, body[:500])
    return json.loads(body)
