"""driftd.sweep: offline drift sweeps of files (Parquet, CSV, .npy) over
libdrift, in process or feature-sharded on Dask, with time windows.
`driftd sweep --help` lists the options; main() is the program."""
from .sweep import main

__all__ = ["main"]
