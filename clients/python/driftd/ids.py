"""Row ids: driftd keys predictions and feedback by unsigned 64-bit ids.

String ids (request ids, UUIDs, user keys) are hashed on the client, so the
server never sees them. The hash is BLAKE2b with an 8-byte digest
(BLAKE2b-64, RFC 7693 with the digest length parameter set to 8, no key, no
salt) of the id's UTF-8 bytes, read as a little-endian unsigned integer:

    id64 = int.from_bytes(hashlib.blake2b(s.encode("utf-8"), digest_size=8).digest(), "little")

It is what `b2sum -l 64` prints, byte-reversed, so any language can
reproduce it. Note that BLAKE2b-64 is not the first 8 bytes of BLAKE2b-512
(the digest length is hashed in). Collisions among n ids occur with
probability about n^2 / 2^65: negligible below a billion ids per model.

This module must stay free of gRPC and of the generated stubs.
"""
import hashlib

import numpy as np

__all__ = ["hash_id", "to_ids"]


def hash_id(value):
    """The 64-bit id of a string (or bytes): BLAKE2b-64, little-endian."""
    data = value.encode("utf-8") if isinstance(value, str) else bytes(value)
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "little")


def to_ids(ids):
    """A uint64 NumPy array from ids: unsigned/non-negative integers pass
    through unchanged, strings and bytes are hashed with hash_id."""
    arr = np.asarray(ids)
    if arr.dtype.kind == "f" and not isinstance(ids, np.ndarray):
        # Python ints beyond int64 turn a list into float64: keep them exact.
        arr = np.array(list(ids), dtype=object)
    if arr.ndim != 1:
        arr = arr.reshape(-1)
    if arr.dtype.kind == "u":
        return arr.astype(np.uint64, copy=False)
    if arr.dtype.kind == "i":
        if arr.size and arr.min() < 0:
            i = int(np.argmax(arr < 0))
            raise ValueError("ids[%d]: %d; expected an unsigned 64-bit id (or a string, "
                             "hashed)" % (i, arr[i]))
        return arr.astype(np.uint64)
    if arr.dtype.kind in "USO":
        if arr.dtype.kind == "O" and all(isinstance(v, (int, np.integer)) and 0 <= v < 2**64
                                         for v in arr.tolist()):
            return np.array(arr.tolist(), dtype=np.uint64)
        out = np.empty(arr.size, dtype=np.uint64)
        for i, v in enumerate(arr.tolist()):
            if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
                if not 0 <= v < 2**64:
                    raise ValueError("ids[%d]: %d; expected an unsigned 64-bit id (or a "
                                     "string, hashed)" % (i, v))
                out[i] = v
            else:
                out[i] = hash_id(v)
        return out
    raise TypeError("ids: expected integers or strings, got dtype %s" % arr.dtype)
