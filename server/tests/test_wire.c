/*
 * test_wire.c - dd_wire_unpack_predictions against protobuf-c decoding the
 * same bytes whole: random PredictionBatch messages packed by protobuf-c,
 * messages with unknown fields in and around their columns, values sent
 * unpacked or split in two fields (which go to protobuf-c whole), every
 * truncation of a message (refused alike). Every field of the two decodes
 * must agree, the floats bit for bit.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/arena.h"
#include "ingest/wire.h"

static uint64_t g_rng = 0x9e3779b97f4a7c15ull;
static uint64_t next(void) {
  g_rng ^= g_rng << 13;
  g_rng ^= g_rng >> 7;
  g_rng ^= g_rng << 17;
  return g_rng;
}
static size_t below(size_t n) {
  return n ? (size_t)(next() % n) : 0;
}

/* The floats of column i as decoded: from the message or from protobuf-c. */
static const void *floats_of(const Driftd__V1__PredictionBatch *b, const uint8_t **values,
                             size_t i) {
  return values && values[i] ? (const void *)values[i] : (const void *)b->columns[i]->values;
}

#define SAME_ARRAY(x, y, field, elt)   \
  ((x)->n_##field == (y)->n_##field && \
   ((x)->n_##field == 0 || memcmp((x)->field, (y)->field, (x)->n_##field * (elt)) == 0))

static int same_strings(char **x, char **y, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(x[i], y[i]) != 0) return 0;
  return 1;
}

/* 1 when the wire decode (a, values) equals protobuf-c's (b). */
static int same_batch(const Driftd__V1__PredictionBatch *a, const uint8_t **values,
                      const Driftd__V1__PredictionBatch *b) {
  if (strcmp(a->model_id, b->model_id) || strcmp(a->producer_id, b->producer_id) ||
      a->sequence != b->sequence || !SAME_ARRAY(a, b, ids, 8) || !SAME_ARRAY(a, b, timestamps, 8) ||
      !SAME_ARRAY(a, b, scores, 4) || !SAME_ARRAY(a, b, predicted_labels, 4) ||
      !SAME_ARRAY(a, b, segment_codes, 4) || a->n_segments != b->n_segments ||
      !same_strings(a->segments, b->segments, a->n_segments) ||
      a->n_segment_dictionary != b->n_segment_dictionary ||
      !same_strings(a->segment_dictionary, b->segment_dictionary, a->n_segment_dictionary) ||
      a->n_columns != b->n_columns)
    return 0;
  for (size_t i = 0; i < a->n_columns; i++) {
    const Driftd__V1__FeatureColumn *x = a->columns[i], *y = b->columns[i];
    if (strcmp(x->name, y->name) || x->index != y->index || !SAME_ARRAY(x, y, codes, 4) ||
        x->n_strings != y->n_strings || !same_strings(x->strings, y->strings, x->n_strings) ||
        x->n_values != y->n_values ||
        (x->n_values && memcmp(floats_of(a, values, i), y->values, x->n_values * 4) != 0))
      return 0;
  }
  return 1;
}

/* Decodes msg both ways; *fast gets whether the floats were left in msg.
 * 1 when the two agree (both refusing counts). */
static int agree(const uint8_t *msg, size_t len, int *fast) {
  dd_arena a1, a2;
  dd_arena_init(&a1);
  dd_arena_init(&a2);
  const uint8_t **values = NULL;
  Driftd__V1__PredictionBatch *w = dd_wire_unpack_predictions(msg, len, &a1, &values);
  Driftd__V1__PredictionBatch *p = driftd__v1__prediction_batch__unpack(&a2.pb, len, msg);
  int ok = (w == NULL) == (p == NULL) && (w == NULL || same_batch(w, values, p));
  if (fast) *fast = values != NULL;
  dd_arena_free(&a1);
  dd_arena_free(&a2);
  return ok;
}

static char g_names[8][8] = {"a", "b", "feat", "x1", "", "zz", "q", "é"};

/* A random batch, packed by protobuf-c into a malloc'd buffer. */
static uint8_t *random_message(size_t *len) {
  Driftd__V1__PredictionBatch b = DRIFTD__V1__PREDICTION_BATCH__INIT;
  size_t rows = below(40);
  uint64_t ids[40];
  double ts[40];
  float scores[40];
  for (size_t r = 0; r < rows; r++) {
    ids[r] = next();
    ts[r] = (double)(next() % 100000) / 7.0;
    scores[r] = (float)(next() % 1000) / 1000.0f;
  }
  b.model_id = below(2) ? "m" : "";
  b.n_ids = rows;
  b.ids = ids;
  b.n_timestamps = below(4) ? rows : 0;
  b.timestamps = ts;
  b.n_scores = below(2) ? rows : 0;
  b.scores = scores;
  b.producer_id = below(2) ? "p-1" : "";
  b.sequence = below(2) ? next() >> 2 : 0;
  size_t nc = below(7);
  Driftd__V1__FeatureColumn cols[6], *pc[6];
  float vals[6][40];
  int32_t codes[6][40];
  char *strs[6][40];
  for (size_t c = 0; c < nc; c++) {
    Driftd__V1__FeatureColumn *col = &cols[c];
    driftd__v1__feature_column__init(col);
    pc[c] = col;
    col->name = g_names[below(8)];
    col->index = (uint32_t)below(3);
    size_t n = below(5) ? rows : below(40);
    for (size_t r = 0; r < n; r++) {
      uint32_t bits = (uint32_t)next(); /* any bits: NaN payloads, infinities, denormals */
      memcpy(&vals[c][r], &bits, 4);
      codes[c][r] = (int32_t)(next() % 7) - 2; /* negative codes: 10-byte varints */
      strs[c][r] = g_names[below(8)];
    }
    switch (below(5)) {
      case 0:
        col->n_values = n;
        col->values = vals[c];
        break;
      case 1:
        col->n_codes = n;
        col->codes = codes[c];
        break;
      case 2:
        col->n_strings = n;
        col->strings = strs[c];
        break;
      case 3: /* nothing */
        break;
      default:
        col->n_values = n;
        col->values = vals[c];
        col->n_codes = below(3);
        col->codes = codes[c];
        break;
    }
  }
  b.n_columns = nc;
  b.columns = pc;
  *len = driftd__v1__prediction_batch__get_packed_size(&b);
  uint8_t *out = malloc(*len + 1);
  driftd__v1__prediction_batch__pack(&b, out);
  return out;
}

static void random_messages_agree(void) {
  int fast = 0, bad = 0;
  for (int t = 0; t < 3000; t++) {
    size_t len;
    uint8_t *msg = random_message(&len);
    int f;
    if (!agree(msg, len, &f)) bad++;
    fast += f;
    free(msg);
  }
  CHECK(bad == 0, "%d of 3000 messages decoded differently", bad);
  CHECK(fast > 2500, "only %d of 3000 messages left their floats in place", fast);
}

/* ------------------------------------------------------- hand-made bytes */

typedef struct buf {
  uint8_t b[512];
  size_t n;
} buf;

static void put_varint(buf *o, uint64_t v) {
  while (v >= 0x80) {
    o->b[o->n++] = (uint8_t)(v | 0x80);
    v >>= 7;
  }
  o->b[o->n++] = (uint8_t)v;
}
static void put_bytes(buf *o, const void *p, size_t n) {
  memcpy(o->b + o->n, p, n);
  o->n += n;
}
static void put_len(buf *o, unsigned field, const void *p, size_t n) {
  put_varint(o, field << 3 | 2);
  put_varint(o, n);
  put_bytes(o, p, n);
}

static const float kF[4] = {1.5f, -2.0f, 3.25f, 1e30f};

/* A batch of 4 rows with one hand-made column entry (col), the ids and a
 * model id around it, and an unknown top-level field. */
static buf batch_with(const buf *col) {
  buf m = {0};
  put_len(&m, 1, "m", 1);
  uint8_t ids[4] = {1, 2, 3, 4}; /* packed varints */
  put_len(&m, 2, ids, 4);
  put_varint(&m, 99 << 3 | 0); /* unknown varint field */
  put_varint(&m, 12345);
  put_len(&m, 4, col->b, col->n);
  put_varint(&m, 98 << 3 | 5); /* unknown fixed32 field */
  put_bytes(&m, "abcd", 4);
  return m;
}

static void hand_made_columns(void) {
  /* values packed, with unknown fields before and after them */
  buf c = {0};
  put_varint(&c, 17 << 3 | 0);
  put_varint(&c, 7);
  put_len(&c, 1, "f", 1);
  put_len(&c, 3, kF, sizeof kF);
  put_varint(&c, 18 << 3 | 1);
  put_bytes(&c, "12345678", 8);
  buf m = batch_with(&c);
  int fast = 0;
  CHECK(agree(m.b, m.n, &fast) && fast, "unknown fields in a column: agree %d, fast %d",
        agree(m.b, m.n, NULL), fast);

  /* values split in two packed fields: protobuf-c concatenates them */
  c = (buf){0};
  put_len(&c, 3, kF, 8);
  put_len(&c, 1, "f", 1);
  put_len(&c, 3, kF + 2, 8);
  m = batch_with(&c);
  CHECK(agree(m.b, m.n, &fast) && !fast, "split values: agree %d, fast %d", agree(m.b, m.n, NULL),
        fast);

  /* values unpacked (one fixed32 field per value) */
  c = (buf){0};
  for (int i = 0; i < 4; i++) {
    put_varint(&c, 3 << 3 | 5);
    put_bytes(&c, &kF[i], 4);
  }
  m = batch_with(&c);
  CHECK(agree(m.b, m.n, &fast) && !fast, "unpacked values: agree %d, fast %d",
        agree(m.b, m.n, NULL), fast);

  /* a packed length that is no multiple of 4; an empty packed field */
  c = (buf){0};
  put_len(&c, 3, kF, 6);
  m = batch_with(&c);
  CHECK(agree(m.b, m.n, NULL), "values of 6 bytes decoded differently");
  c = (buf){0};
  put_len(&c, 3, kF, 0);
  put_len(&c, 1, "g", 1);
  m = batch_with(&c);
  CHECK(agree(m.b, m.n, NULL), "an empty values field decoded differently");

  /* values with a varint wire type; a group inside a column */
  c = (buf){0};
  put_varint(&c, 3 << 3 | 0);
  put_varint(&c, 5);
  m = batch_with(&c);
  CHECK(agree(m.b, m.n, NULL), "values as a varint decoded differently");
  c = (buf){0};
  put_varint(&c, 20 << 3 | 3);
  put_varint(&c, 20 << 3 | 4);
  put_len(&c, 3, kF, 16);
  m = batch_with(&c);
  CHECK(agree(m.b, m.n, NULL), "a group in a column decoded differently");

  /* columns sent with a wrong wire type at the top level */
  buf t = {0};
  put_varint(&t, 4 << 3 | 0);
  put_varint(&t, 3);
  CHECK(agree(t.b, t.n, NULL), "columns as a varint decoded differently");
}

static void truncations_agree(void) {
  int bad = 0, total = 0;
  for (int t = 0; t < 40; t++) {
    size_t len;
    uint8_t *msg = random_message(&len);
    for (size_t cut = 0; cut < len; cut++) {
      uint8_t *part = malloc(cut + 1); /* exactly cut bytes readable, for the sanitizers */
      memcpy(part, msg, cut);
      bad += !agree(part, cut, NULL);
      total++;
      free(part);
    }
    free(msg);
  }
  CHECK(bad == 0, "%d of %d truncations decoded differently", bad, total);
}

TEST_MAIN(TEST(random_messages_agree), TEST(hand_made_columns), TEST(truncations_agree))
