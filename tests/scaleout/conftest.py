"""Path setup for the scale-out tests: the server suite's helpers
(tests/server) and the Python client (clients/python), as tests/server's
conftest and driftd_proc do, so `import driftd` works before driftd_proc is
imported."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
for path in (os.path.join(ROOT, "clients", "python"), os.path.join(ROOT, "tests", "server"),
             HERE):
    if path not in sys.path:
        sys.path.insert(0, path)
