"""Build hook of driftd-client: generates driftd/v1/*_pb2*.py from the
.proto files (driftd._build) before setuptools copies the package, so a
wheel or an install always carries stubs matching the proto it was built
from. Everything else is in pyproject.toml."""
import importlib.util
import os

from setuptools import setup
from setuptools.command.build_py import build_py


def _load_build_module():
    here = os.path.dirname(os.path.abspath(__file__))
    spec = importlib.util.spec_from_file_location("driftd_build",
                                                  os.path.join(here, "driftd", "_build.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


class BuildPyWithStubs(build_py):
    def run(self):
        build = _load_build_module()
        if build.find_proto_root() is not None:
            build.generate()
        elif not os.path.exists(os.path.join(build.STUB_DIR, "drift_pb2.py")):
            raise RuntimeError("driftd-client: no proto/driftd/v1 found to generate the stubs "
                               "from; set DRIFTD_PROTO_DIR")
        super().run()


setup(cmdclass={"build_py": BuildPyWithStubs})
