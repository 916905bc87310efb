"""Generated gRPC stubs of driftd.v1 (drift_pb2, drift_pb2_grpc, ...).

Built from proto/driftd/v1/*.proto by driftd/_build.py at build/install time
or on first import from a source checkout; never committed (see .gitignore).
"""
