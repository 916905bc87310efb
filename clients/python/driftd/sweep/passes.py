"""The passes of a sweep in this process: the features cut into passes of
at most --columns-per-pass columns, run side by side in lanes.

A pass holds its columns' values (for KS and Wasserstein) until it is
compared. One pass at a time with every engine thread leaves cores idle
while it reads, and the disk idle while it sorts; so a pass of N columns is
split into one part per lane, each lane a thread with an engine context of
its own that sweeps its parts one after the other. The lanes drift out of
step, so one reads while the other computes, and at most N columns' values
are held at once, as with one lane. Each part is run_shard on its
features, whose figures depend only on their own columns: the report is
the same whatever the lanes.
"""
import os
from concurrent.futures import ThreadPoolExecutor

from .distributed import shards
from .run import run_shard

# A lane's part is at least this many columns: narrower parts would pay the
# per-pass costs (opening files, reading the first chunk for the kinds) for
# too little work.
MIN_LANE_COLUMNS = 8


def _threads(plan):
    return plan["threads"] if plan["threads"] > 0 else (os.cpu_count() or 1)


def lanes_for(plan, n_names, per_pass):
    """Lanes of a sweep of n_names features at most per_pass at a time
    (0: all in one pass, one lane)."""
    if per_pass <= 0:
        return 1
    return max(1, min(_threads(plan), per_pass // MIN_LANE_COLUMNS, n_names // MIN_LANE_COLUMNS))


def run_passes(plan, names, per_pass):
    """Shard results of every pass, in feature order."""
    lanes = lanes_for(plan, len(names), per_pass)
    if lanes == 1:
        n_passes = -(-len(names) // per_pass) if per_pass else 1
        return [run_shard(plan, part) for part in shards(names, n_passes)]
    width = max(1, per_pass // lanes)
    parts = shards(names, -(-len(names) // width))
    lane_plan = dict(plan, threads=max(1, _threads(plan) // lanes))
    with ThreadPoolExecutor(max_workers=lanes, thread_name_prefix="driftd-lane") as pool:
        futures = [pool.submit(run_shard, lane_plan, part) for part in parts]
        try:
            return [f.result() for f in futures]
        except BaseException:
            for f in futures:  # a failed part ends the sweep: start no other
                f.cancel()
            raise
