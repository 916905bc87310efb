"""The committed tests/golden/pvalue_table.h is what SciPy answers today.

Re-runs gen_pvalue_table.py's computation with the installed SciPy and
compares row by row with the table tests/test_pvalue.c compiles in, so the C
test's oracle cannot drift from SciPy unnoticed. On failure, regenerate with
`python3 tests/golden/gen_pvalue_table.py` and review the diff.
"""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_pvalue_table  # noqa: E402
import pytest  # noqa: E402

HEX = r"(-?0x[0-9a-fA-F.]+p[+-]?\d+|inf|-inf|nan)"
KS_ROW = re.compile(r"^\s*\{%s, (\d+), (\d+), %s, (\d)\},$" % (HEX, HEX))
CHI2_ROW = re.compile(r"^\s*\{%s, (\d+), %s\},$" % (HEX, HEX))
KSTWO_ROW = re.compile(r"^\s*\{(\d+), %s, %s\},$" % (HEX, HEX))


def _committed():
    ks, chi2, kstwo = [], [], []
    with open(gen_pvalue_table.default_path(), encoding="ascii") as f:
        for line in f:
            m = KS_ROW.match(line)
            if m:
                ks.append((float.fromhex(m[1]), int(m[2]), int(m[3]), float.fromhex(m[4]),
                           int(m[5])))
                continue
            m = CHI2_ROW.match(line)
            if m:
                chi2.append((float.fromhex(m[1]), int(m[2]), float.fromhex(m[3])))
                continue
            m = KSTWO_ROW.match(line)
            if m:
                kstwo.append((int(m[1]), float.fromhex(m[2]), float.fromhex(m[3])))
    return ks, chi2, kstwo


@pytest.fixture(scope="module")
def fresh_rows():
    return gen_pvalue_table.rows()


def test_ks_rows_are_current(fresh_rows):
    fresh = fresh_rows[0]
    committed = _committed()[0]
    assert len(committed) == len(fresh), "row count changed: regenerate the table"
    for got, want in zip(committed, fresh):
        d, n1, n2, p, method = got
        assert (d, n1, n2, method) == (want[0], want[1], want[2], want[4]), (got, want)
        assert abs(p - want[3]) <= 1e-12, (got, want)


def test_chi2_rows_are_current(fresh_rows):
    fresh = fresh_rows[1]
    committed = _committed()[1]
    assert len(committed) == len(fresh), "row count changed: regenerate the table"
    for got, want in zip(committed, fresh):
        assert got[:2] == want[:2], (got, want)
        assert abs(got[2] - want[2]) <= 1e-14 * max(want[2], 1e-300), (got, want)


def test_kstwo_rows_are_current(fresh_rows):
    fresh = fresh_rows[2]
    committed = _committed()[2]
    assert len(committed) == len(fresh), "row count changed: regenerate the table"
    for got, want in zip(committed, fresh):
        assert got[:2] == want[:2], (got, want)
        assert abs(got[2] - want[2]) <= 1e-14 * max(want[2], 1e-300), (got, want)
