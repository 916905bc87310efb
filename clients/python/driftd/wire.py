"""Protocol Buffers wire encoding of the streamed messages (ReferenceChunk,
PredictionBatch, FeedbackBatch) straight from NumPy arrays.

Why not the generated classes: filling a repeated float field from a NumPy
array goes element by element in the protobuf runtime (about 40 ms per MB
here), which would cap ingest near 25 MB/s. Packed fixed-width fields are the
array's little-endian bytes, and packed varints vectorize, so this module
writes each message in one pass of NumPy operations. The field numbers come
from the generated descriptors (drift_pb2), so a renumbered field cannot go
unnoticed, and tests/server/test_client_unit.py parses every encoding back
with the protobuf runtime.

This module only encodes; it never opens channels or interprets replies.
"""
import sys

import numpy as np

from .v1 import drift_pb2 as pb

_WT_VARINT, _WT_LEN = 0, 2
_LITTLE = sys.byteorder == "little"


def _field(message, name):
    return message.DESCRIPTOR.fields_by_name[name].number


def varint(n):
    """One unsigned varint (n >= 0, < 2**64)."""
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def varints(values):
    """Concatenated varints of a uint64 array (int32/int64 arrays are first
    sign-extended to 64 bits, as protobuf encodes negative int32)."""
    v = np.asarray(values)
    if v.dtype.kind == "i":
        v = v.astype(np.int64, copy=False).view(np.uint64)
    else:
        v = v.astype(np.uint64, copy=False)
    if v.size == 0:
        return b""
    # Number of 7-bit groups per value: 1 + index of the highest set group.
    groups = np.empty((v.size, 10), dtype=np.uint8)
    nbytes = np.ones(v.size, dtype=np.int64)
    rest = v.copy()
    for g in range(10):
        groups[:, g] = (rest & np.uint64(0x7F)).astype(np.uint8)
        rest >>= np.uint64(7)
        if g < 9:
            nbytes += (rest != 0)
    cont = np.arange(10)[None, :] < (nbytes[:, None] - 1)
    groups |= (cont.astype(np.uint8) << 7)
    keep = np.arange(10)[None, :] < nbytes[:, None]
    return groups[keep].tobytes()


def _key(number, wire_type):
    return varint((number << 3) | wire_type)


def _len_delimited(number, payload):
    return b"".join((_key(number, _WT_LEN), varint(len(payload)), payload))


def _packed_fixed(number, values, dtype):
    if values is None:
        return b""
    a = np.asarray(values, dtype=dtype).reshape(-1)
    if a.size == 0:
        return b""
    if not _LITTLE:
        a = a.byteswap()
    return _len_delimited(number, np.ascontiguousarray(a).tobytes())


def _packed_varint(number, values):
    if values is None:
        return b""
    a = np.asarray(values).reshape(-1)
    if a.size == 0:
        return b""
    return _len_delimited(number, varints(a))


def _string(number, s):
    if not s:
        return b""
    return _len_delimited(number, s.encode("utf-8") if isinstance(s, str) else bytes(s))


def _strings(number, values):
    """Repeated string: every element written, empty ones included."""
    if values is None:
        return b""
    key = _key(number, _WT_LEN)
    out = []
    for s in values:
        data = s.encode("utf-8") if isinstance(s, str) else bytes(s)
        out.append(key)
        out.append(varint(len(data)))
        out.append(data)
    return b"".join(out)


_COL = {n: _field(pb.FeatureColumn, n) for n in ("name", "index", "values", "codes", "strings")}


def feature_column(name, values=None, codes=None, strings=None):
    """A FeatureColumn: exactly one of values (float32), codes (int32) or
    strings holds the rows."""
    parts = [_string(_COL["name"], name)]
    if values is not None:
        a = np.asarray(values, dtype=np.float32).reshape(-1)
        # An empty packed field is absent on the wire; the server then sees
        # a column of zero rows, which is what was sent.
        parts.append(_packed_fixed(_COL["values"], a, "<f4"))
    elif codes is not None:
        parts.append(_packed_varint(_COL["codes"], np.asarray(codes, dtype=np.int32)))
    elif strings is not None:
        parts.append(_strings(_COL["strings"], strings))
    return b"".join(parts)


def _columns(number, columns):
    """columns: list of (name, kind, array) with kind 'values', 'codes' or
    'strings'."""
    out = []
    for name, kind, arr in columns:
        out.append(_len_delimited(number, feature_column(name, **{kind: arr})))
    return b"".join(out)


_REF = {n: _field(pb.ReferenceChunk, n)
        for n in ("model_id", "columns", "labels", "targets", "scores", "predicted_labels")}


def reference_chunk(model_id, columns, labels=None, targets=None, scores=None, predicted=None):
    return b"".join((
        _string(_REF["model_id"], model_id),
        _columns(_REF["columns"], columns),
        _packed_varint(_REF["labels"], None if labels is None else np.asarray(labels, np.int32)),
        _packed_fixed(_REF["targets"], targets, "<f4"),
        _packed_fixed(_REF["scores"], scores, "<f4"),
        _packed_varint(_REF["predicted_labels"],
                       None if predicted is None else np.asarray(predicted, np.int32)),
    ))


def producer_tag(message, producer_id, sequence):
    """The exactly-once tag fields (producer_id, sequence) of a
    PredictionBatch or FeedbackBatch, to append to its encoding (protobuf
    merges concatenated fields)."""
    pid = _field(message, "producer_id")
    seq = _field(message, "sequence")
    return b"".join((_string(pid, producer_id), _key(seq, 0), varint(int(sequence))))


_PRED = {n: _field(pb.PredictionBatch, n)
         for n in ("model_id", "ids", "timestamps", "columns", "scores", "predicted_labels",
                   "segments", "segment_dictionary", "segment_codes")}


def prediction_batch(model_id, ids, timestamps, columns, scores=None, predicted=None,
                     segment_dictionary=None, segment_codes=None):
    return b"".join((
        _string(_PRED["model_id"], model_id),
        _packed_varint(_PRED["ids"], np.asarray(ids, np.uint64)),
        _packed_fixed(_PRED["timestamps"], timestamps, "<f8"),
        _columns(_PRED["columns"], columns),
        _packed_fixed(_PRED["scores"], scores, "<f4"),
        _packed_varint(_PRED["predicted_labels"],
                       None if predicted is None else np.asarray(predicted, np.int32)),
        _strings(_PRED["segment_dictionary"], segment_dictionary),
        _packed_varint(_PRED["segment_codes"],
                       None if segment_codes is None else np.asarray(segment_codes, np.int32)),
    ))


_FB = {n: _field(pb.FeedbackBatch, n)
       for n in ("model_id", "ids", "labels", "targets", "timestamps")}


def feedback_batch(model_id, ids, labels=None, targets=None, timestamps=None):
    return b"".join((
        _string(_FB["model_id"], model_id),
        _packed_varint(_FB["ids"], np.asarray(ids, np.uint64)),
        _packed_varint(_FB["labels"], None if labels is None else np.asarray(labels, np.int32)),
        _packed_fixed(_FB["targets"], targets, "<f4"),
        _packed_fixed(_FB["timestamps"], timestamps, "<f8"),
    ))
