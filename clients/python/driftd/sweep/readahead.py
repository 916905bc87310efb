"""Read-ahead hints for Parquet inputs: while a reader decodes row group g,
the kernel is asked (posix_fadvise WILLNEED) to start reading the byte
ranges of the next row groups' column chunks for the columns being read,
so a memory-mapped file is mostly in the page cache when the decoder gets
there and the disk works while the CPU computes.

Only a hint: where posix_fadvise is missing, or a range is unknown, nothing
is asked and nothing changes but speed. It never reads a byte itself.
"""
import bisect
import os

ROW_GROUPS_AHEAD = 3


def _leaf_index(metadata):
    """Top-level column name -> index of its leaf column chunk (flat columns
    only; nested ones get no hints)."""
    out = {}
    schema = metadata.schema
    for i in range(metadata.num_columns):
        path = schema.column(i).path
        if "." not in path:
            out[path] = i
    return out


def _chunk_range(column):
    start = column.data_page_offset
    if column.has_dictionary_page and 0 < column.dictionary_page_offset < start:
        start = column.dictionary_page_offset
    return start, column.total_compressed_size


def _coalesced(ranges):
    """Adjacent (start, length) ranges merged into one."""
    out = []
    for start, length in sorted(ranges):
        if out and start <= out[-1][0] + out[-1][1]:
            end = max(out[-1][0] + out[-1][1], start + length)
            out[-1] = (out[-1][0], end - out[-1][0])
        else:
            out.append((start, length))
    return out


class ReadAhead:
    """Hints for one pass over path's columns. at_row(r) says the decoder
    reached row r; the row groups up to ROW_GROUPS_AHEAD past its row group
    are then asked for, each once."""

    def __init__(self, path, metadata, columns):
        self.fd = None
        self.next_group = 0
        self.metadata = metadata
        self.starts = []
        if not hasattr(os, "posix_fadvise") or metadata.num_row_groups == 0:
            return
        index = _leaf_index(metadata)
        self.leaves = [index[c] for c in columns if c in index]
        if not self.leaves:
            return
        rows = 0
        for g in range(metadata.num_row_groups):
            self.starts.append(rows)
            rows += metadata.row_group(g).num_rows
        try:
            self.fd = os.open(path, os.O_RDONLY)
        except OSError:
            self.fd = None

    def _hint(self, group):
        rg = self.metadata.row_group(group)
        for start, length in _coalesced(_chunk_range(rg.column(i)) for i in self.leaves):
            try:
                os.posix_fadvise(self.fd, start, length, os.POSIX_FADV_WILLNEED)
            except OSError:
                return

    def at_row(self, row):
        if self.fd is None:
            return
        group = max(0, bisect.bisect_right(self.starts, row) - 1)
        last = min(group + ROW_GROUPS_AHEAD, len(self.starts) - 1)
        while self.next_group <= last:
            self._hint(self.next_group)
            self.next_group += 1

    def close(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
