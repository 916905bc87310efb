"""Shared setup of the sweep tests: the Python package comes from
clients/python of this checkout, the library from DRIFT_LIBRARY and the C
program from DRIFT_BIN (ctest sets both)."""
import os
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "clients", "python"))
