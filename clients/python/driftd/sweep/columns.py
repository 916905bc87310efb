"""From file columns to engine features: each feature's kind, the
dictionary of a categorical feature, and a chunk's arrays turned into the
float32 values or int32 codes the engine reads.

The rules are the C command's (host/cli/schema.c, batch.c, cell.c):
  - a CSV column is categorical when named by --categorical, or when the
    reference's first chunk holds a cell that is neither missing nor a
    number; a Parquet column when its type is text, dictionary or boolean;
  - a category's text is the cell, or "%.9g" of a float32 value, so 3.0
    is "3"; codes are given in order of first appearance in the reference,
    a current value the reference lacks gets the code n_categories
    ("unseen"), a missing one -1;
  - numbers are parsed into float32 (nearest), NaN for a missing cell.
"""
import numpy as np

from .readers import InputError


class Feature:
    """A feature of the sweep: its column name, kind and dictionary."""

    def __init__(self, name, kind, source):
        self.name = name
        self.kind = kind
        self.source = source  # why: numbers, --categorical, text or type
        self.categories = {}

    @property
    def n_categories(self):
        return max(1, len(self.categories))


def _is_arrow(values):
    return not isinstance(values, np.ndarray)


def _combined(values):
    return values.combine_chunks() if hasattr(values, "combine_chunks") else values


def arrow_kind(values):
    """numeric, categorical or text (CSV cells) for an Arrow array."""
    import pyarrow.types as t
    typ = values.type
    if t.is_string(typ) or t.is_large_string(typ):
        return "text"
    if t.is_dictionary(typ) or t.is_boolean(typ):
        return "categorical"
    if t.is_integer(typ) or t.is_floating(typ) or t.is_decimal(typ):
        return "numeric"
    return None


def _parse_cell(text):
    try:
        return np.float32(float(text.strip(" \t")))
    except ValueError:
        return None


def _text_to_float(values, path, name, first_row):
    import pyarrow as pa
    import pyarrow.compute as pc
    values = _combined(values)
    try:
        return pc.cast(values, pa.float32()).to_numpy(zero_copy_only=False)
    except pa.ArrowInvalid:
        pass
    out = np.empty(len(values), dtype=np.float32)
    for i, cell in enumerate(values.to_pylist()):
        v = np.float32(np.nan) if cell is None else _parse_cell(cell)
        if v is None:
            raise InputError(
                "%s:%d: column \"%s\": cannot read \"%s\" as a number (the column is numeric; "
                "name it in --categorical to compare it as categories)" %
                (path, first_row + i + 2, name, cell))
        out[i] = v
    return out


def text_kind(values):
    """None when every non-missing cell of an Arrow text column is a number,
    else "text" (no cell is) or "mixed" (some are): the C command's rule
    for a categorical column, and how it states it."""
    values = _combined(values)
    words = numbers = False
    for cell in values.drop_null().unique().to_pylist():
        if _parse_cell(cell) is None:
            words = True
        else:
            numbers = True
    if not words:
        return None
    return "mixed" if numbers else "text"


def to_float32(values, path, name, first_row):
    """A chunk's column as a float32 NumPy array (NaN = missing)."""
    if not _is_arrow(values):
        return values.astype(np.float32, copy=False)
    kind = arrow_kind(values)
    if kind == "text":
        return _text_to_float(values, path, name, first_row)
    if kind != "numeric":
        raise InputError("%s: column \"%s\" of type %s cannot be read as numbers" %
                         (path, name, values.type))
    import pyarrow as pa
    import pyarrow.compute as pc
    return pc.cast(_combined(values), pa.float32()).to_numpy(zero_copy_only=False)


def to_text(values):
    """A chunk's column as an object array of category texts, None = missing."""
    if not _is_arrow(values):
        v = values.astype(np.float32, copy=False)
        return np.array([None if x != x else "%.9g" % x for x in v.tolist()], dtype=object)
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.types as t
    values = _combined(values)
    if t.is_dictionary(values.type):
        values = values.dictionary_decode()
    if t.is_floating(values.type):
        return to_text(pc.cast(values, pa.float32()).to_numpy(zero_copy_only=False))
    if not (t.is_string(values.type) or t.is_large_string(values.type)):
        values = pc.cast(values, pa.string())
    return values.to_numpy(zero_copy_only=False)


def learn(feature, texts):
    """Adds the chunk's new categories to the feature's dictionary, in order
    of first appearance."""
    import pandas as pd
    for value in pd.unique(texts[texts != None]):  # noqa: E711 (elementwise)
        feature.categories.setdefault(value, len(feature.categories))


def codes(feature, texts):
    """int32 codes of the chunk's texts: -1 missing, n_categories unseen."""
    import pandas as pd
    index = pd.Index(list(feature.categories), dtype=object)
    out = index.get_indexer(texts).astype(np.int32)
    out[out < 0] = feature.n_categories
    out[np.equal(texts, None)] = -1
    return out
