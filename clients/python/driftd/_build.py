"""Generates the gRPC stubs (driftd/v1/*_pb2.py, *_pb2_grpc.py) from the
.proto files in the repository's proto/ directory with grpcio-tools.

The stubs are build products and are not committed: setup.py runs this at
build/install time, and importing `driftd` from a source checkout runs it
when the stubs are missing or older than the .proto files. Writes are atomic
(temp directory, then rename per file), so concurrent test processes that
generate at once see either the old or the new complete file.

This module must never import the generated stubs itself.
"""
import glob
import os
import shutil
import sys
import tempfile

PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
STUB_DIR = os.path.join(PACKAGE_DIR, "v1")


def find_proto_root():
    """The directory holding driftd/v1/*.proto: $DRIFTD_PROTO_DIR, or the
    repository's proto/ two levels above clients/python; None if absent."""
    candidates = [os.environ.get("DRIFTD_PROTO_DIR"),
                  os.path.join(PACKAGE_DIR, "..", "..", "..", "proto")]
    for c in candidates:
        if c and glob.glob(os.path.join(c, "driftd", "v1", "*.proto")):
            return os.path.abspath(c)
    return None


def _proto_files(root):
    return sorted(glob.glob(os.path.join(root, "driftd", "v1", "*.proto")))


def _stub_names(proto):
    base = os.path.splitext(os.path.basename(proto))[0]
    return [base + "_pb2.py", base + "_pb2_grpc.py"]


def stubs_current(root):
    """True when every .proto under root has stubs newer than itself."""
    for proto in _proto_files(root):
        for name in _stub_names(proto):
            path = os.path.join(STUB_DIR, name)
            if not os.path.exists(path) or os.path.getmtime(path) < os.path.getmtime(proto):
                return False
    return True


def generate(proto_root=None, out_root=None):
    """Runs protoc (grpcio-tools) on every driftd/v1/*.proto under proto_root
    and places the stubs in out_root/driftd/v1 (default: this package).
    Returns the list of files written. Raises RuntimeError on protoc errors."""
    from grpc_tools import protoc  # build-time dependency only

    root = proto_root or find_proto_root()
    if root is None:
        raise RuntimeError("driftd: proto/driftd/v1/*.proto not found; set DRIFTD_PROTO_DIR")
    out_pkg = os.path.join(out_root, "driftd", "v1") if out_root else STUB_DIR
    os.makedirs(out_pkg, exist_ok=True)
    protos = _proto_files(root)
    include = os.path.join(os.path.dirname(protoc.__file__), "_proto")
    written = []
    with tempfile.TemporaryDirectory(dir=out_pkg, prefix=".gen-") as tmp:
        args = ["grpc_tools.protoc", "-I" + root, "-I" + include,
                "--python_out=" + tmp, "--grpc_python_out=" + tmp] + protos
        rc = protoc.main(args)
        if rc != 0:
            raise RuntimeError("driftd: protoc failed (%d) on %s" % (rc, " ".join(protos)))
        for proto in protos:
            for name in _stub_names(proto):
                src = os.path.join(tmp, "driftd", "v1", name)
                if not os.path.exists(src):
                    continue  # a .proto without services has no *_grpc content
                dst = os.path.join(out_pkg, name)
                os.replace(src, dst)
                written.append(dst)
    init = os.path.join(out_pkg, "__init__.py")
    if not os.path.exists(init):
        with open(init, "w") as f:
            f.write('"""Generated gRPC stubs of driftd.v1."""\n')
    return written


def ensure_stubs():
    """Generates the stubs when running from a source checkout and they are
    missing or stale; does nothing for an installed package."""
    root = find_proto_root()
    if root is not None and not stubs_current(root):
        generate(root)


if __name__ == "__main__":
    for path in generate(sys.argv[1] if len(sys.argv) > 1 else None):
        print(path)
