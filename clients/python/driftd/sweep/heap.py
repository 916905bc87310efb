"""The sweep program's allocator setting: memory the engine frees stays in
the process for the next pass.

Each pass allocates its columns' kept values (hundreds of MB a side) and
frees them when it is compared. glibc's malloc serves blocks that large
with fresh mmap()s and returns them when freed, so every pass would fault
in and clear its pages again, which on virtual machines costs more than
the sorting. With mmap disabled and trimming off (mallopt, as documented
in mallopt(3)), big blocks come from the heap and a freed one serves the
next pass's, already touched. The process's peak memory is the same; it
just does not shrink between passes. Done once, by the program only (a
library must not change its host's allocator); nothing happens on other C
libraries.
"""
import ctypes
import sys

M_TRIM_THRESHOLD = -1
M_MMAP_MAX = -4


def keep_freed_memory():
    """True when glibc's malloc was told to keep freed memory."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None)
        mallopt, gnu_version = libc.mallopt, libc.gnu_get_libc_version
    except (OSError, AttributeError):
        return False  # not glibc
    del gnu_version
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    return bool(mallopt(M_MMAP_MAX, 0)) and bool(mallopt(M_TRIM_THRESHOLD, -1))
