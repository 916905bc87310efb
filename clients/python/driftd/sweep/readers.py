"""Chunked readers of the sweep's inputs: Parquet (pyarrow, memory-mapped,
row-group batches, only the columns asked for), CSV, plain or gzip-compressed
(pyarrow's streaming reader, every cell read as text as the C command does) and NumPy .npy (memory
mapped; columns f0, f1, ...).

A reader knows its column names, and yields chunks as dicts column name ->
array: a NumPy float array for numeric storage, or an Arrow array for text
and other types. Problems raise InputError naming the file (and the column
where one is at fault); the program exits with status 2 on them.
"""
import csv
import gzip
import os

import numpy as np

from .readahead import ReadAhead

# Cells the C command reads as missing (unquoted, any case).
MISSING_WORDS = ("na", "n/a", "nan", "null", "none")


class InputError(Exception):
    """An input file that cannot be read as asked: exit status 2."""


def _null_values():
    out = [""]
    for w in MISSING_WORDS:
        out += [w, w.upper(), w.capitalize()]
    return sorted(set(out + ["NaN", "N/a"]))


def prefetched(chunks):
    """The items of the iterator chunks, each next one read on a thread of
    its own while the caller works on the current one: Parquet decoding and
    the engine's appends overlap (both release the GIL). One item is read
    ahead; an error of the reader is raised where the item would have come."""
    import queue
    import threading
    items, stop = queue.Queue(maxsize=1), threading.Event()
    done = object()

    def offer(item):
        while not stop.is_set():
            try:
                items.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def work():
        try:
            for item in chunks:
                if not offer((None, item)):
                    return
            offer((None, done))
        except BaseException as e:  # noqa: BLE001 - handed to the consumer
            offer((e, None))

    thread = threading.Thread(target=work, name="driftd-read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            error, item = items.get()
            if error is not None:
                raise error
            if item is done:
                return
            yield item
    finally:
        stop.set()
        thread.join()


class Reader:
    path = ""
    format = ""
    columns = ()

    def chunks(self, columns, chunk_rows):
        raise NotImplementedError


class NpyReader(Reader):
    format = "npy"

    def __init__(self, path):
        self.path = path
        try:
            self.array = np.load(path, mmap_mode="r", allow_pickle=False)
        except (ValueError, OSError) as e:
            raise InputError("%s: not a readable .npy file (%s)" % (path, e)) from None
        if self.array.ndim != 2 or self.array.dtype.kind not in "fiu":
            raise InputError("%s: expected a 2-D numeric array, got %s of %s" %
                             (path, self.array.shape, self.array.dtype))
        self.columns = ["f%d" % i for i in range(self.array.shape[1])]
        self.n_rows = self.array.shape[0]

    def chunks(self, columns, chunk_rows):
        index = [self.columns.index(c) for c in columns]
        for start in range(0, self.n_rows, chunk_rows):
            block = self.array[start:start + chunk_rows]
            yield block.shape[0], {c: block[:, i] for c, i in zip(columns, index)}


class CsvReader(Reader):
    format = "csv"

    def __init__(self, path):
        self.path = path
        opener = gzip.open if path.endswith(".gz") else open
        try:
            with opener(path, "rt", newline="", encoding="utf-8", errors="replace") as f:
                header = next(csv.reader(f), None)
        except (OSError, EOFError) as e:
            raise InputError("%s: cannot read: %s" % (path, e)) from None
        if not header:
            raise InputError("%s: empty file (expected a header row)" % path)
        self.columns = header

    def chunks(self, columns, chunk_rows):
        import pyarrow as pa
        import pyarrow.csv as pacsv
        read = pacsv.ReadOptions(block_size=1 << 22)
        convert = pacsv.ConvertOptions(
            column_types={c: pa.string() for c in columns}, include_columns=list(columns),
            null_values=_null_values(), strings_can_be_null=True,
            quoted_strings_can_be_null=False)
        try:
            stream = pacsv.open_csv(self.path, read_options=read, convert_options=convert)
            pending, n_pending = [], 0
            for batch in stream:
                pending.append(batch)
                n_pending += batch.num_rows
                while n_pending >= chunk_rows:
                    table = pa.Table.from_batches(pending)
                    head, rest = table.slice(0, chunk_rows), table.slice(chunk_rows)
                    yield chunk_rows, {c: head.column(c) for c in columns}
                    pending, n_pending = rest.to_batches(), rest.num_rows
            if n_pending:
                table = pa.Table.from_batches(pending)
                yield n_pending, {c: table.column(c) for c in columns}
        except pa.ArrowInvalid as e:
            raise InputError("%s: %s" % (self.path, e)) from None


# Parsed footers by (path, size, mtime): the passes of one sweep reopen a
# file once per pass, and a wide file's footer takes a good part of a second
# to parse each time.
_FOOTERS = {}


def _footer_key(path):
    st = os.stat(path)
    return os.path.abspath(path), st.st_size, st.st_mtime_ns


class ParquetReader(Reader):
    """Memory-mapped: the decoder reads the column chunks where the page
    cache holds them, instead of copying each into a freshly allocated
    buffer first (fresh pages cost more than the decoding). Read-ahead hints
    keep the disk ahead of the decoder (readahead.py). As with any mapped
    file, one truncated while it is read ends the process (SIGBUS)."""
    format = "parquet"

    def __init__(self, path):
        import pyarrow as pa
        import pyarrow.parquet as pq
        self.path = path
        try:
            key = _footer_key(path)
            self.file = pq.ParquetFile(path, memory_map=True, metadata=_FOOTERS.get(key))
            _FOOTERS[key] = self.file.metadata
        except (pa.ArrowException, OSError) as e:
            raise InputError("%s: not a readable Parquet file (%s)" % (path, e)) from None
        self.columns = list(self.file.schema_arrow.names)
        self.n_rows = self.file.metadata.num_rows

    def chunks(self, columns, chunk_rows):
        import pyarrow as pa
        ahead = ReadAhead(self.path, self.file.metadata, columns)
        rows = 0
        try:
            ahead.at_row(0)
            for batch in self.file.iter_batches(batch_size=chunk_rows, columns=list(columns)):
                rows += batch.num_rows
                ahead.at_row(rows)
                yield batch.num_rows, {c: batch.column(c) for c in columns}
        except (pa.ArrowException, OSError) as e:
            raise InputError("%s: %s" % (self.path, e)) from None
        finally:
            ahead.close()


def open_reader(path):
    """A reader for path by its extension (.parquet/.pq, .npy, else CSV)."""
    if os.path.isdir(path):
        raise InputError("%s: is a directory, expected a file" % path)
    if not os.path.exists(path):
        raise InputError("%s: no such file" % path)
    ext = os.path.splitext(path)[1].lower()
    if ext in (".parquet", ".pq"):
        return ParquetReader(path)
    if ext == ".npy":
        return NpyReader(path)
    return CsvReader(path)
