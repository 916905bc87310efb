"""Feature-sharded sweeps on Dask: the features are cut into one
contiguous shard per worker, each worker runs run_shard on its shard
(reading only its columns from the files, which every worker must be able
to open at the same path), and the shards' results come back in feature
order. No statistic is approximated: a shard computes exactly what the
single-process sweep computes for its features.

--scheduler tcp://host:port joins a running cluster; --cluster local:N
starts a LocalCluster of N single-threaded worker processes for the run;
--cluster local-cuda starts dask-cuda's LocalCUDACluster, one worker per
visible GPU, each seeing its own GPU as device 0 (CUDA_VISIBLE_DEVICES), so
the engine's "auto" backend runs each shard on its worker's GPU. A running
LocalCUDACluster may also be joined with --scheduler.
"""
import contextlib

from .args import UsageError
from .run import run_shard


def _cuda_cluster():
    """dask_cuda.LocalCUDACluster, or UsageError saying how to get it."""
    try:
        from dask_cuda import LocalCUDACluster
    except ImportError:
        raise UsageError("--cluster local-cuda needs dask-cuda (pip install dask-cuda) and a "
                         "CUDA GPU; use --cluster local:N on machines without one") from None
    return LocalCUDACluster(threads_per_worker=1, dashboard_address=None)


def shards(names, n):
    """names cut into at most n contiguous, nearly equal parts."""
    n = max(1, min(n, len(names)))
    size, extra = divmod(len(names), n)
    out, start = [], 0
    for i in range(n):
        end = start + size + (1 if i < extra else 0)
        out.append(names[start:end])
        start = end
    return out


@contextlib.contextmanager
def client_for(scheduler=None, cluster=None):
    """A dask.distributed Client for --scheduler, --cluster local:N or
    --cluster local-cuda."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise UsageError("--scheduler and --cluster need Dask: pip install "
                         "'dask[distributed]'") from None
    if scheduler:
        with Client(scheduler) as client:
            yield client
        return
    if cluster == "local-cuda":
        with _cuda_cluster() as lc, Client(lc) as client:
            yield client
        return
    n = int(cluster.split(":", 1)[1])
    with LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                      dashboard_address=None) as lc, Client(lc) as client:
        yield client


def run_sharded(plan, names, client):
    """Shard results in feature order, one shard per worker."""
    n_workers = max(1, len(client.scheduler_info().get("workers", {})))
    parts = shards(names, n_workers)
    futures = [client.submit(run_shard, plan, part, pure=False) for part in parts]
    return client.gather(futures)
