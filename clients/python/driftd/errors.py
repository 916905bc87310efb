"""DriftdError: every failed call of driftd.Client raises it, carrying the
gRPC status code and the server's message (which names the field at fault).

Must not import the generated stubs.
"""
import grpc

__all__ = ["DriftdError"]


class DriftdError(Exception):
    """A failed driftd call. `code` is a grpc.StatusCode (e.g.
    grpc.StatusCode.INVALID_ARGUMENT), `message` the server's text, `method`
    the RPC that failed."""

    def __init__(self, code, message, method=None):
        self.code = code
        self.message = message
        self.method = method
        where = " (%s)" % method if method else ""
        super().__init__("%s%s: %s" % (code.name if code else "UNKNOWN", where, message))

    @classmethod
    def from_rpc_error(cls, err, method=None):
        code = err.code() if hasattr(err, "code") else grpc.StatusCode.UNKNOWN
        details = err.details() if hasattr(err, "details") else str(err)
        return cls(code, details or "", method)
