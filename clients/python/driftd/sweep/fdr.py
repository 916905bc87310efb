"""Benjamini-Hochberg control of the false discovery rate across features
(--fdr), as the C command's host/cli/fdr.c: for ks and chi2, the features
the step-up procedure rejects at the statistic's threshold, among those it
votes on, drift on that statistic; other statistics, and features the
effect-size rule decided, vote as before. Runs
on the gathered results, so a sharded sweep sees every feature at once."""
import math

from .. import engine

P_FIELDS = {"ks": "ks_p", "chi2": "chi2_p"}


def _votes(result, kind, stat, voting):
    bit = 1 << engine.STAT[stat]
    p = result[P_FIELDS[stat]]
    return (result["rule"] == "p_value" and bool(voting[kind] & result["computed"] & bit) and
            not math.isnan(p))


def _cut(ps, alpha):
    ps = sorted(ps)
    m = len(ps)
    cut = -1.0
    for k in range(1, m + 1):
        if ps[k - 1] <= alpha * float(k) / float(m):
            cut = ps[k - 1]
    return cut


def apply(results, kinds, voting, thresholds):
    """Re-decides results (dicts, one per feature with kinds[i]) in place.
    voting: {"numeric": bits, "categorical": bits}; thresholds: stat ->
    alpha."""
    for stat in ("ks", "chi2"):
        bit = 1 << engine.STAT[stat]
        field = P_FIELDS[stat]
        ps = [r[field] for r, k in zip(results, kinds) if _votes(r, k, stat, voting)]
        cut = _cut(ps, thresholds[stat]) if ps else -1.0
        for r, k in zip(results, kinds):
            if _votes(r, k, stat, voting):
                r["drifted"] = (r["drifted"] & ~bit) | (bit if r[field] <= cut else 0)
    for r in results:
        r["drift"] = int(r["drifted"] != 0)
