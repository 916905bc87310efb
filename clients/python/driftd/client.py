"""driftd.Client: the model owner's workflow over driftd's gRPC API.

create a model with its reference, log predictions and feedback, then read
drift, data quality, SLIs and alerts per window as pandas DataFrames, or watch
the server's alert states as they change. Streams go out
in messages of about `chunk_bytes` (1 MB by default: the size at which gRPC
streams are fastest), encoded from NumPy arrays by driftd.wire. Every call
carries the model id in the `x-model-id` metadata header, so a
consistent-hash proxy (nginx `hash $http_x_model_id consistent`) routes all
of a model's calls to one instance. Failed calls raise DriftdError with the
gRPC code and the server's message.

The client validates nothing the server validates (lengths, timestamps,
names): the server's INVALID_ARGUMENT message names the field; the client
only converts types. It retries only the logging streams, whose batches
carry exactly-once tags (see Client).
"""
import math
import re
import threading
import time
import uuid

import grpc
import numpy as np
import pandas as pd

from . import joined, wire
from .errors import DriftdError
from .ids import to_ids
from .v1 import drift_pb2 as pb

__all__ = ["Client", "STATISTICS", "SLI_METRICS", "ALERT_KINDS"]

_SERVICE = "/driftd.v1.Driftd/"
_HEALTH_CHECK = "/grpc.health.v1.Health/Check"
_HEALTH_STATUS = {0: "UNKNOWN", 1: "SERVING", 2: "NOT_SERVING", 3: "SERVICE_UNKNOWN"}


def _enum_names(enum, prefix):
    """{short lowercase name: number} of a proto enum, UNSPECIFIED left out."""
    return {v.name[len(prefix):].lower(): v.number for v in enum.DESCRIPTOR.values
            if not v.name.endswith("UNSPECIFIED")}


STATISTICS = _enum_names(pb.Statistic, "STATISTIC_")        # "psi", "ks", ...
SLI_METRICS = _enum_names(pb.SliMetric, "SLI_METRIC_")      # "accuracy", "roc_auc", ...
_OUTPUT_KINDS = _enum_names(pb.OutputKind, "OUTPUT_KIND_")  # "binary", ...
_ESTIMATION = _enum_names(pb.EstimationMethod, "ESTIMATION_METHOD_")
ALERT_KINDS = _enum_names(pb.AlertKind, "ALERT_KIND_")      # "feature_drift", ...
_ALERT_KIND_NAME = {v: k for k, v in ALERT_KINDS.items()}
_STAT_NAME = {v: k for k, v in STATISTICS.items()}
_METRIC_NAME = {v: k for k, v in SLI_METRICS.items()}
_KIND_NAME = {pb.FEATURE_KIND_NUMERIC: "numeric", pb.FEATURE_KIND_CATEGORICAL: "categorical"}


def _statistic(name):
    if isinstance(name, int):
        return name
    try:
        return STATISTICS[name.lower()]
    except KeyError:
        raise ValueError("unknown statistic %r; one of %s" % (name, ", ".join(STATISTICS)))


def _metric(name):
    if isinstance(name, int):
        return name
    try:
        return SLI_METRICS[name.lower()]
    except KeyError:
        raise ValueError("unknown SLI metric %r; one of %s" % (name, ", ".join(SLI_METRICS)))


def _alert_kind(name):
    if isinstance(name, int):
        return name
    try:
        return ALERT_KINDS[name.lower()]
    except KeyError:
        raise ValueError("unknown alert kind %r; one of %s" % (name, ", ".join(ALERT_KINDS)))


def _alert_rule(rule):
    """pb.AlertRule from a message or a dict of its fields (kind and
    statistic by name or number)."""
    if isinstance(rule, pb.AlertRule):
        return rule
    fields = dict(rule)
    if "kind" in fields:
        fields["kind"] = _alert_kind(fields["kind"])
    if fields.get("statistic") is not None:
        fields["statistic"] = _statistic(fields["statistic"])
    else:
        fields.pop("statistic", None)
    return pb.AlertRule(**fields)


def _health_request(service):
    data = service.encode("utf-8")
    return (b"\x0a" + wire.varint(len(data)) + data) if data else b""


def _health_status(raw):
    """HealthCheckResponse.status (field 1, varint) from its wire bytes; the
    health messages are decoded by hand so the client needs no stubs of the
    `grpc.health.v1` package (whose Python module path would shadow grpcio)."""
    i = 0
    status = 0
    while i < len(raw):
        key = raw[i]
        i += 1
        if key == 0x08:
            value, shift = 0, 0
            while True:
                b = raw[i]
                i += 1
                value |= (b & 0x7F) << shift
                shift += 7
                if not b & 0x80:
                    break
            status = value
        else:
            break
    return status


def to_epoch_seconds(ts):
    """float64 seconds since the epoch from numbers, datetime64 arrays,
    pandas Series/DatetimeIndex (naive ones read as UTC). NaN stays NaN."""
    if isinstance(ts, (pd.Series, pd.Index)):
        if pd.api.types.is_datetime64_any_dtype(ts.dtype):
            idx = pd.DatetimeIndex(ts)
            if idx.tz is not None:
                idx = idx.tz_convert("UTC").tz_localize(None)
            if hasattr(idx, "as_unit"):  # pandas >= 2 keeps s/ms/us units
                idx = idx.as_unit("ns")
            ns = idx.asi8.astype(np.float64)
            ns[idx.isna()] = np.nan
            return ns / 1e9
        return np.asarray(ts, dtype=np.float64)
    arr = np.asarray(ts)
    if arr.dtype.kind == "M":
        ns = arr.astype("datetime64[ns]")
        out = ns.astype(np.int64).astype(np.float64) / 1e9
        out[np.isnat(ns)] = np.nan
        return out
    return arr.astype(np.float64)


def _datetime(seconds):
    return pd.to_datetime(np.asarray(seconds, dtype=np.float64) * 1e9, unit="ns", utc=True)


class _Schema:
    """The feature names and kinds of a model, in schema order."""

    def __init__(self, spec):
        self.names = [f.name for f in spec.features]
        self.kinds = [f.kind for f in spec.features]
        self.n_scores = (spec.output.n_classes
                         if spec.output.kind == pb.OUTPUT_KIND_MULTICLASS else 1)


def _column_arrays(schema, features):
    """(name, wire kind, array) per schema feature from a DataFrame, a dict
    of columns or a 2-D array (columns in schema order)."""
    if isinstance(features, pd.DataFrame):
        get = features.__getitem__
        have = set(features.columns)
    elif isinstance(features, dict):
        get = features.__getitem__
        have = set(features)
    else:
        mat = np.asarray(features)
        if mat.ndim == 1:
            mat = mat[:, None]
        if mat.shape[1] != len(schema.names):
            raise ValueError("features: %d columns, the schema has %d features"
                             % (mat.shape[1], len(schema.names)))
        return [(n, "values" if k == pb.FEATURE_KIND_NUMERIC else "codes",
                 np.ascontiguousarray(mat[:, i]))
                for i, (n, k) in enumerate(zip(schema.names, schema.kinds))]
    cols = []
    for name, kind in zip(schema.names, schema.kinds):
        if name not in have:
            # Sent as an empty column: the server names the missing rows.
            cols.append((name, "values" if kind == pb.FEATURE_KIND_NUMERIC else "codes",
                         np.zeros(0, np.float32)))
            continue
        col = get(name)
        if kind == pb.FEATURE_KIND_NUMERIC:
            cols.append((name, "values", _as_float32(col)))
        else:
            cols.append(_categorical(name, col))
    return cols


def _as_float32(col):
    if isinstance(col, pd.Series):
        if isinstance(col.dtype, pd.CategoricalDtype):
            col = col.astype(object)
        col = col.to_numpy(dtype=np.float64, na_value=np.nan)
    return np.ascontiguousarray(np.asarray(col, dtype=np.float32))


def _categorical(name, col):
    """Integer columns go as codes; anything else as strings, with missing
    values (None, NaN) as the empty string, which the server reads as
    missing."""
    s = col if isinstance(col, pd.Series) else pd.Series(np.asarray(col))
    if isinstance(s.dtype, pd.CategoricalDtype):
        s = s.astype(object)
    if pd.api.types.is_integer_dtype(s.dtype):
        return (name, "codes", np.ascontiguousarray(s.to_numpy(dtype=np.int32)))
    values = ["" if (v is None or (isinstance(v, float) and math.isnan(v))) else str(v)
              for v in s.tolist()]
    return (name, "strings", np.asarray(values, dtype=object))


def _row_bytes(columns, extra_per_row):
    """Approximate encoded bytes per row, for chunking."""
    total = extra_per_row
    for _, kind, arr in columns:
        if kind == "values":
            total += 4
        elif kind == "codes":
            total += 5
        else:
            n = max(len(arr), 1)
            total += 2 + sum(len(s) for s in arr[: min(len(arr), 1000)]) / min(n, 1000)
    return max(total, 1)


def _n_rows(columns, *arrays):
    sizes = [len(a) for _, _, a in columns] + [len(a) for a in arrays if a is not None]
    return max(sizes) if sizes else 0


def _slice(a, lo, hi, per_row=1):
    return None if a is None else a[lo * per_row: hi * per_row]


def _feature_spec_from_series(name, s, categorical):
    if name in categorical or not (pd.api.types.is_numeric_dtype(s.dtype)
                                   or pd.api.types.is_bool_dtype(s.dtype)):
        cats = []
        if isinstance(s.dtype, pd.CategoricalDtype):
            cats = [str(c) for c in s.dtype.categories]
        return pb.FeatureSpec(name=name, kind=pb.FEATURE_KIND_CATEGORICAL, categories=cats)
    return pb.FeatureSpec(name=name, kind=pb.FEATURE_KIND_NUMERIC)


_PRODUCER_RE = re.compile(r"[A-Za-z0-9._:-]+")


def _pem(v):
    """PEM bytes from bytes or a file path; None stays None."""
    if v is None or isinstance(v, (bytes, bytearray)):
        return v
    with open(v, "rb") as f:
        return f.read()


def _retryable(err):
    """A failure after which resending the stream's tagged batches is safe
    and may succeed: the server unreachable or restarting, its ingest queue
    full, or the call cut by the server (CANCELLED: a shutdown whose grace
    ran out, or a call that reached the server as it began to stop). The
    tags make any resend safe; only a cancel of our own is final."""
    if err.code == grpc.StatusCode.UNAVAILABLE:
        return True
    if err.code == grpc.StatusCode.CANCELLED:
        return "locally cancelled" not in (err.message or "").lower()
    return err.code == grpc.StatusCode.RESOURCE_EXHAUSTED and "retry with backoff" in err.message


class _TaggedBatches:
    """The encoded batches of one call, tagged (producer, sequence) as they
    are first drawn and kept, so each attempt sends the same bytes. gRPC
    draws requests on its own thread, and a failed attempt's thread may
    still be drawing when the next attempt starts: a lock guards the
    source."""

    def __init__(self, messages, message_type, producer, first):
        self._source = iter(messages)
        self._type = message_type
        self._producer = producer
        self._sent = []
        self._lock = threading.Lock()
        self.last = first - 1

    def _get(self, i):
        with self._lock:
            while len(self._sent) <= i:
                raw = next(self._source, None)
                if raw is None:
                    return None
                self.last += 1
                self._sent.append(raw + wire.producer_tag(self._type, self._producer, self.last))
            return self._sent[i]

    def attempt(self):
        i = 0
        while True:
            m = self._get(i)
            if m is None:
                return
            yield m
            i += 1


class Client:
    """A connection to one driftd (or a proxy in front of several).

    target: "host:port"; timeout: seconds per call (a gRPC deadline);
    chunk_bytes: size of streamed messages; max_message_bytes: largest reply
    accepted (and request sent). Thread-safe: calls may come from many
    threads.

    Security: tls_ca (the CA that signed the server's certificate; PEM file
    path or bytes; None with tls=True: the system's roots) makes the channel
    TLS; tls_cert and tls_key (paths or bytes) add a client certificate for
    servers that ask for one (mutual TLS); tls_server_name overrides the
    name checked against the server's certificate. token is sent as
    "authorization: Bearer <token>" on every call (servers started with
    auth_tokens). credentials: a ready grpc.ChannelCredentials instead of
    the tls_* arguments.

    Exactly-once logging: log_predictions and log_feedback tag every batch
    with a producer id (producer_id, default a random one per Client, plus
    the calling thread) and an increasing sequence. When a stream fails with
    UNAVAILABLE (server restarting, connection lost), CANCELLED by the server
    (a restart cut the call) or a full ingest queue,
    the call resends all its batches with the same tags, with bounded
    exponential backoff, for up to retry_s seconds (0: no retries); the
    server applies each batch once and acknowledges the ones it already has
    as duplicates (LogAck.duplicate_rows). A call keeps its encoded batches
    in memory until it returns, so it can resend them.
    """

    def __init__(self, target, timeout=30.0, chunk_bytes=1 << 20,
                 max_message_bytes=256 << 20, credentials=None, options=(),
                 producer_id=None, retry_s=30.0, token=None, tls=False, tls_ca=None,
                 tls_cert=None, tls_key=None, tls_server_name=None):
        opts = [("grpc.max_receive_message_length", max_message_bytes),
                ("grpc.max_send_message_length", max_message_bytes)] + list(options)
        self.target = target
        self.timeout = timeout
        self.chunk_bytes = int(chunk_bytes)
        if (tls_cert is None) != (tls_key is None):
            raise ValueError("tls_cert and tls_key: give both (a client certificate) or neither")
        if credentials is None and (tls or tls_ca is not None or tls_cert is not None):
            credentials = grpc.ssl_channel_credentials(
                root_certificates=_pem(tls_ca), private_key=_pem(tls_key),
                certificate_chain=_pem(tls_cert))
        if tls_server_name:
            opts.append(("grpc.ssl_target_name_override", tls_server_name))
        self._auth = (("authorization", "Bearer " + token),) if token else ()
        if credentials is None:
            self._channel = grpc.insecure_channel(target, options=opts)
        else:
            self._channel = grpc.secure_channel(target, credentials, options=opts)
        self._schemas = {}
        self.producer_id = producer_id or "py-%s" % uuid.uuid4().hex[:20]
        if not _PRODUCER_RE.fullmatch(self.producer_id) or len(self.producer_id) > 100:
            raise ValueError("producer_id: %r; expected 1..100 characters of [A-Za-z0-9._:-]"
                             % (self.producer_id,))
        self.retry_s = float(retry_s)
        self._seq_lock = threading.Lock()
        self._seqs = {}
        self.retries = 0  # resent logging streams, for monitoring the client

    # ------------------------------------------------------------ plumbing

    def close(self):
        self._channel.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _call(self, kind, method, request, response_type, model_id, timeout,
              serializer=None):
        fn = getattr(self._channel, kind)(
            _SERVICE + method,
            request_serializer=serializer or (lambda m: m.SerializeToString()),
            response_deserializer=response_type.FromString)
        metadata = ((("x-model-id", model_id),) if model_id else ()) + self._auth or None
        try:
            return fn(request, timeout=self.timeout if timeout is None else timeout,
                      metadata=metadata)
        except grpc.RpcError as err:
            raise DriftdError.from_rpc_error(err, method) from None

    def _unary(self, method, request, response_type, model_id, timeout=None):
        return self._call("unary_unary", method, request, response_type, model_id, timeout)

    def _stream(self, method, messages, response_type, model_id, timeout=None):
        """Client-streaming call over pre-encoded messages (bytes)."""
        return self._call("stream_unary", method, messages, response_type, model_id, timeout,
                          serializer=lambda b: b)

    def _producer(self, model_id, kind):
        """(producer id, next sequence) of this thread's batches of one kind
        to one model: one thread's calls run in order, so its sequences
        reach the server in order."""
        key = (model_id, kind, threading.get_ident())
        with self._seq_lock:
            nxt = self._seqs.get(key, 0) + 1
            self._seqs[key] = nxt
        return "%s.%x" % (self.producer_id, threading.get_ident()), nxt

    def _reserve(self, model_id, kind, producer, n):
        """Takes n more sequences after the one _producer gave."""
        key = (model_id, kind, threading.get_ident())
        with self._seq_lock:
            self._seqs[key] += n

    def _log_once(self, method, model_id, messages, message_type, timeout):
        """A client stream whose batches carry exactly-once tags, resent
        whole (same tags) after a retryable failure until retry_s passes."""
        kind = message_type.DESCRIPTOR.name
        producer, first = self._producer(model_id, kind)
        batches = _TaggedBatches(messages, message_type, producer, first)
        deadline = time.monotonic() + self.retry_s
        delay = 0.05
        try:
            while True:
                try:
                    return self._stream(method, batches.attempt(), pb.LogAck, model_id, timeout)
                except DriftdError as err:
                    if not _retryable(err) or time.monotonic() + delay > deadline:
                        raise
                    time.sleep(delay)
                    delay = min(2.0, delay * 2)
                    with self._seq_lock:
                        self.retries += 1
        finally:
            # Later calls of this thread continue after the last tag used.
            self._reserve(model_id, kind, producer, max(0, batches.last - first))

    def _schema(self, model_id):
        s = self._schemas.get(model_id)
        if s is None:
            s = _Schema(self.get_model(model_id).spec)
            self._schemas[model_id] = s
        return s

    # ------------------------------------------------------------ health

    def health(self, service="", timeout=None):
        """grpc.health.v1 Check: "SERVING", "NOT_SERVING", "UNKNOWN" or
        "SERVICE_UNKNOWN". service "" is the server as a whole."""
        fn = self._channel.unary_unary(_HEALTH_CHECK, request_serializer=lambda b: b,
                                       response_deserializer=lambda b: b)
        try:
            raw = fn(_health_request(service),
                     timeout=self.timeout if timeout is None else timeout)
        except grpc.RpcError as err:
            raise DriftdError.from_rpc_error(err, "Health.Check") from None
        return _HEALTH_STATUS.get(_health_status(raw), "UNKNOWN")

    # ------------------------------------------------------------ models

    def create_model(self, model_id, schema=None, *, categorical=(), output="binary",
                     n_classes=0, class_names=(), decision_threshold=None,
                     window_seconds=(3600,), statistics=(), verdict_numeric=(),
                     verdict_categorical=(), thresholds=None, bonferroni=False,
                     dataset_share=None, n_bins=0, max_kept_values=0, label_ttl_seconds=0,
                     estimation=None, n_subgroups=0, slos=(), alerts=(), timeout=None):
        """Registers a model. schema: a DataFrame (numeric dtypes become
        numeric features, others categorical; pandas Categorical columns
        keep their categories; names in `categorical` are forced
        categorical), or a list of pb.FeatureSpec, or a list of
        (name, "numeric"|"categorical"[, categories]) tuples. output:
        "binary", "multiclass" or "regression". thresholds: {statistic:
        value}. slos: list of (metric, min, max) tuples. alerts: alert rules,
        each a pb.AlertRule or a dict of its fields, e.g. {"name": "x0-ks",
        "kind": "feature_drift", "feature": "x0", "statistic": "ks",
        "threshold": 0.2, "consecutive_windows": 2, "severity": "critical"}.
        Returns the Model message."""
        features = self._feature_specs(schema, set(categorical))
        out = pb.OutputSpec(kind=_OUTPUT_KINDS[output], n_classes=n_classes,
                            class_names=list(class_names))
        if decision_threshold is not None:
            out.decision_threshold.value = decision_threshold
        drift = pb.DriftConfig(
            statistics=[_statistic(s) for s in statistics],
            verdict_numeric=[_statistic(s) for s in verdict_numeric],
            verdict_categorical=[_statistic(s) for s in verdict_categorical],
            thresholds=[pb.StatisticThreshold(statistic=_statistic(k), threshold=v)
                        for k, v in (thresholds or {}).items()],
            bonferroni=bonferroni, n_bins=n_bins, max_kept_values=max_kept_values)
        if dataset_share is not None:
            drift.dataset_share.value = dataset_share
        spec = pb.ModelSpec(features=features, output=out,
                            window_seconds=list(window_seconds), drift=drift,
                            label_ttl_seconds=label_ttl_seconds)
        if estimation is not None or n_subgroups:
            spec.estimation.method = _ESTIMATION[estimation or "unspecified"] \
                if estimation else 0
            spec.estimation.n_subgroups = n_subgroups
        for slo in slos:
            metric, lo, hi = slo
            s = spec.slos.add(metric=_metric(metric))
            if lo is not None:
                s.min.value = lo
            if hi is not None:
                s.max.value = hi
        spec.alerts.extend([_alert_rule(a) for a in alerts])
        model = self._unary("CreateModel", pb.CreateModelRequest(model_id=model_id, spec=spec),
                            pb.Model, model_id, timeout)
        self._schemas[model_id] = _Schema(model.spec)
        return model

    @staticmethod
    def _feature_specs(schema, categorical):
        if schema is None:
            return []
        if isinstance(schema, pd.DataFrame):
            return [_feature_spec_from_series(str(n), schema[n], categorical)
                    for n in schema.columns]
        specs = []
        for f in schema:
            if isinstance(f, pb.FeatureSpec):
                specs.append(f)
                continue
            name, kind = f[0], f[1]
            spec = pb.FeatureSpec(name=name, kind=pb.FEATURE_KIND_CATEGORICAL
                                  if kind == "categorical" else pb.FEATURE_KIND_NUMERIC)
            if len(f) > 2 and f[2] is not None:
                if kind == "categorical":
                    spec.categories.extend([str(c) for c in f[2]])
                else:
                    spec.edges.extend([float(e) for e in f[2]])
            specs.append(spec)
        return specs

    def get_model(self, model_id, timeout=None):
        return self._unary("GetModel", pb.GetModelRequest(model_id=model_id), pb.Model,
                           model_id, timeout)

    def list_models(self, timeout=None):
        """Every model (all pages), as Model messages."""
        models, token = [], ""
        while True:
            resp = self._unary("ListModels", pb.ListModelsRequest(page_token=token),
                               pb.ListModelsResponse, None, timeout)
            models.extend(resp.models)
            token = resp.next_page_token
            if not token:
                return models

    def server_stats(self, timeout=None):
        """The server's counters (ServerStats): calls, models, the dynamic
        batcher's batches, items, rows and queue delays, and `ops`, a dict
        op kind -> {"batches", "items", "rows"} (items / batches is the
        coalescing the batcher achieved), and the Alertmanager deliveries
        (alerts_sent, alert_posts_failed, alerts_dropped, alerts_queued)."""
        st = self._unary("GetServerStats", pb.GetServerStatsRequest(), pb.ServerStats, None,
                         timeout)
        out = {f.name: getattr(st, f.name) for f in st.DESCRIPTOR.fields if f.name != "ops"}
        out["ops"] = {o.op: {"batches": o.batches, "items": o.items, "rows": o.rows}
                      for o in st.ops}
        return out

    def delete_model(self, model_id, timeout=None):
        self._schemas.pop(model_id, None)
        self._unary("DeleteModel", pb.DeleteModelRequest(model_id=model_id),
                    pb.DeleteModelResponse, model_id, timeout)

    # ------------------------------------------------------------ streams

    def _chunks(self, columns, extra_per_row, n_rows):
        per_msg = max(1, int(self.chunk_bytes // _row_bytes(columns, extra_per_row)))
        if n_rows == 0:
            yield 0, 0
            return
        for lo in range(0, n_rows, per_msg):
            yield lo, min(n_rows, lo + per_msg)

    def upload_reference(self, model_id, df, labels=None, scores=None, predicted=None,
                         targets=None, timeout=None):
        """Streams the reference rows (the schema's columns of df, a dict of
        columns or a 2-D array in schema order) with optional true labels
        (or regression targets), scores and predicted labels, in messages of
        about chunk_bytes. Returns the ReferenceSummary."""
        schema = self._schema(model_id)
        columns = _column_arrays(schema, df)
        labels = None if labels is None else np.asarray(labels, np.int32)
        targets = None if targets is None else np.asarray(targets, np.float32)
        scores = None if scores is None else np.asarray(scores, np.float32).reshape(-1)
        predicted = None if predicted is None else np.asarray(predicted, np.int32)
        extra = 4 * ((labels is not None) + (targets is not None) + (predicted is not None)
                     + (scores is not None) * schema.n_scores)
        n = _n_rows(columns, labels, targets, predicted)

        def messages():
            for i, (lo, hi) in enumerate(self._chunks(columns, extra, n)):
                yield wire.reference_chunk(
                    model_id if i == 0 else "", [(c, k, a[lo:hi]) for c, k, a in columns],
                    labels=_slice(labels, lo, hi), targets=_slice(targets, lo, hi),
                    scores=_slice(scores, lo, hi, schema.n_scores),
                    predicted=_slice(predicted, lo, hi))

        return self._stream("UploadReference", messages(), pb.ReferenceSummary, model_id,
                            timeout)

    def prediction_messages(self, model_id, features, ids, timestamps, scores=None,
                            predicted=None, segments=None):
        """The encoded PredictionBatch messages log_predictions would send
        (a generator of bytes), for callers that pre-encode (benchmarks)."""
        schema = self._schema(model_id)
        columns = _column_arrays(schema, features)
        ids = to_ids(ids)
        ts = to_epoch_seconds(timestamps)
        scores = None if scores is None else np.asarray(scores, np.float32).reshape(-1)
        predicted = None if predicted is None else np.asarray(predicted, np.int32)
        seg_codes = seg_dict = None
        if segments is not None:
            codes, uniques = pd.factorize(pd.Series(segments, dtype=object), use_na_sentinel=True)
            seg_codes = codes.astype(np.int32)
            seg_dict = [str(u) for u in uniques]
        extra = 8 + 8 + 4 * ((predicted is not None) + (scores is not None) * schema.n_scores
                             + (seg_codes is not None))
        n = _n_rows(columns, ids, ts)

        # The arguments are converted and checked above, before the first
        # message: a bad one raises here, naming the argument, instead of
        # inside gRPC's request iterator.
        def messages():
            for i, (lo, hi) in enumerate(self._chunks(columns, extra, n)):
                yield wire.prediction_batch(
                    model_id if i == 0 else "", ids[lo:hi], ts[lo:hi],
                    [(c, k, a[lo:hi]) for c, k, a in columns],
                    scores=_slice(scores, lo, hi, schema.n_scores),
                    predicted=_slice(predicted, lo, hi),
                    segment_dictionary=seg_dict, segment_codes=_slice(seg_codes, lo, hi))

        return messages()

    def log_predictions(self, model_id, features, ids, timestamps, scores=None, predicted=None,
                        segments=None, timeout=None):
        """Streams predictions: features (DataFrame, dict of columns or 2-D
        array in schema order), ids (uint64, or strings hashed with
        driftd.hash_id), event timestamps (epoch seconds or datetimes),
        optional scores (binary/regression: one per row; multiclass: rows x
        n_classes), predicted labels and segment keys. Returns the LogAck,
        which comes only once every batch is durably stored."""
        msgs = self.prediction_messages(model_id, features, ids, timestamps, scores=scores,
                                        predicted=predicted, segments=segments)
        return self._log_once("LogPredictions", model_id, msgs, pb.PredictionBatch, timeout)

    def log_encoded(self, model_id, messages, timeout=None, exactly_once=False):
        """LogPredictions over messages already encoded (prediction_messages).
        exactly_once: tag them as log_predictions does, and resend after a
        retryable failure (the messages drawn are kept until the call returns)."""
        if exactly_once:
            return self._log_once("LogPredictions", model_id, messages, pb.PredictionBatch,
                                  timeout)
        return self._stream("LogPredictions", iter(messages), pb.LogAck, model_id, timeout)

    def log_feedback(self, model_id, ids, labels=None, timestamps=None, targets=None,
                     timeout=None):
        """Streams labels (or regression targets) for prediction ids;
        timestamps: when each label became known (default: server time)."""
        ids = to_ids(ids)
        labels = None if labels is None else np.asarray(labels, np.int32)
        targets = None if targets is None else np.asarray(targets, np.float32)
        ts = None if timestamps is None else to_epoch_seconds(timestamps)
        per_msg = max(1, self.chunk_bytes // 24)
        n = len(ids)

        def messages():
            for i, lo in enumerate(range(0, max(n, 1), per_msg)):
                hi = min(n, lo + per_msg)
                yield wire.feedback_batch(model_id if i == 0 else "", ids[lo:hi],
                                          labels=_slice(labels, lo, hi),
                                          targets=_slice(targets, lo, hi),
                                          timestamps=_slice(ts, lo, hi))

        return self._log_once("LogFeedback", model_id, messages(), pb.FeedbackBatch, timeout)

    # ------------------------------------------------------------ queries

    @staticmethod
    def _range(req, start, end):
        if start is not None or end is not None:
            req.range.start = to_epoch_seconds([start])[0] if start is not None else -math.inf
            req.range.end = to_epoch_seconds([end])[0] if end is not None else math.inf

    def drift(self, model_id, window_seconds=0, start=None, end=None, features=(),
              baseline="reference", statistics=(), level="feature", raw=False, timeout=None):
        """Drift per window. level "feature": one row per window and feature
        with a column per statistic (<stat>, <stat>_p for ks and chi2,
        chi2_dof, ks_method, wasserstein_norm), `drifted` and `drifted_by`;
        the model's output columns (output.score, output.predicted,
        output.confidence, output.prediction: those its reference's scores
        and predicted labels give) follow the features with `is_output`
        True. level "dataset": one row per window with the dataset verdict
        (features only) and, beside it, n_outputs and n_outputs_drifted.
        level "multivariate": one row per window with its multivariate drift
        against the reference (n_reference, n_window, pca_*, auc with
        auc_lower/auc_upper, mmd2, mmd_sigma, mmd_pvalue, mmd_permutations;
        NaN where the model has none). Feature rows carry `relevance`, the
        feature's mutual information with the reference's labels (or
        scores), NaN when unknown.
        features: names of features or output columns (empty: all).
        baseline: "reference" or "previous_window". raw=True returns the
        GetDriftResponse message."""
        req = pb.GetDriftRequest(
            model_id=model_id, window_seconds=window_seconds, features=list(features),
            baseline=(pb.BASELINE_PREVIOUS_WINDOW if baseline == "previous_window"
                      else pb.BASELINE_REFERENCE),
            statistics=[_statistic(s) for s in statistics],
            multivariate=level == "multivariate")
        self._range(req, start, end)
        resp = self._unary("GetDrift", req, pb.GetDriftResponse, model_id, timeout)
        if raw:
            return resp
        return drift_frame(resp, level)

    def data_quality(self, model_id, window_seconds=0, start=None, end=None, features=(),
                     reference=False, raw=False, timeout=None):
        """Data quality per window and feature (count, missing, ±Inf, min,
        max, mean, variance, out-of-range and unseen shares), the output
        columns after the features with `is_output` True; reference=True
        returns the same figures over the reference."""
        req = pb.GetDataQualityRequest(model_id=model_id, window_seconds=window_seconds,
                                       features=list(features))
        self._range(req, start, end)
        resp = self._unary("GetDataQuality", req, pb.GetDataQualityResponse, model_id, timeout)
        if raw:
            return resp
        return quality_frame(resp, reference)

    def sli(self, model_id, window_seconds=0, start=None, end=None, subgroups=(), metrics=(),
            estimate=False, stored=False, raw=False, timeout=None):
        """SLIs per window and subgroup: n_predictions, n_labelled,
        coverage, label lag percentiles, a column per metric (NaN where
        undefined; roc_auc_error bounds the binned AUC's error) and, with
        estimate=True, per estimated metric <metric>_estimate, _lower,
        _upper, _labelled_share, _rows (rows estimated over; divide by
        n_predictions for the share of the window covered), _kind (exact,
        estimated, blended) and _method (confidence, importance).
        subgroups: segment keys, or ["*"] for every segment. stored=True
        answers from the series the server stored per window (updated as
        late labels land, kept across restarts) instead of the live join."""
        req = pb.GetSLIRequest(model_id=model_id, window_seconds=window_seconds,
                               subgroups=list(subgroups),
                               metrics=[_metric(m) for m in metrics], estimate=estimate,
                               stored=stored)
        self._range(req, start, end)
        resp = self._unary("GetSLI", req, pb.GetSLIResponse, model_id, timeout)
        if raw:
            return resp
        return sli_frame(resp)

    def diagnosis(self, model_id, window_seconds=0, start=None, end=None, metric=None,
                  raw=False, timeout=None):
        """Which kind of shift each window shows, one row per window: `kind`
        (none, data_quality, covariate, concept, prior, unknown),
        `confidence`, the evidence (n_drifted, n_quality, sli_window,
        sli_reference, estimate_window with _lower/_upper, sli_change,
        estimate_change, sli_gap, sli_gap_z, the label-rate fields,
        n_labelled) and the hints: `quality` (a list of {feature, missing,
        out_of_range, missing_share_reference, missing_share_window,
        out_of_range_share}), `top_features` (drifted feature names, most
        drifted first), `upsample` (a list of {subgroup, share_reference,
        share_window, rows_to_add}) and the retrain range `retrain_start`,
        `retrain_end` (NaT unless concept shift). metric: the SLI judged
        (default the model's primary one); lower-is-better metrics come
        negated. raw=True returns the GetDiagnosisResponse message."""
        req = pb.GetDiagnosisRequest(model_id=model_id, window_seconds=window_seconds,
                                     metric=_metric(metric) if metric is not None else 0)
        self._range(req, start, end)
        resp = self._unary("GetDiagnosis", req, pb.GetDiagnosisResponse, model_id, timeout)
        if raw:
            return resp
        return diagnosis_frame(resp)

    def alerts(self, model_id, start=None, end=None, rules=(), firing_only=False,
               level="window", raw=False, timeout=None):
        """The model's alert rules judged per window. level "window": one
        row per rule and window in [start, end) with the condition's value
        and threshold, `met`, `run` (windows in a row meeting it), `fired`,
        the rule's current state `firing`, and for slo_breach rules `slos`
        (a list of {metric, value, met, estimated}); level "rule": one row
        per rule with `firing`, the latest window held and the counts of
        windows reported and fired. rules: names to report (default all);
        firing_only: only the windows where a rule fired (and only the rules
        with one). raw=True returns the GetAlertsResponse message."""
        req = pb.GetAlertsRequest(model_id=model_id, rules=list(rules), firing_only=firing_only)
        self._range(req, start, end)
        resp = self._unary("GetAlerts", req, pb.GetAlertsResponse, model_id, timeout)
        if raw:
            return resp
        return alerts_frame(resp, level)

    # ------------------------------------------------------------ metrics

    def register_metric(self, model_id, name, window=0, expr=None, fn=None, start=None,
                        end=None, as_of=None, timeout=None):
        """Registers (or replaces) a metric: `expr` in driftd's expression
        language (docs/metrics.md), computed per window of `window` seconds
        (one of the model's window sizes; 0: the smallest) by the server,
        over every window since the first logged row (GetBackfill follows
        that) and then as data comes; GetSLI returns it beside the built-in
        SLIs. A text that does not compile raises DriftdError
        INVALID_ARGUMENT naming the position: "expr at position 12:
        expected ..., found ...". Returns the stored definition as a dict.

        fn=callable instead of expr: for what the language cannot say.
        Nothing is registered on the server: the client reads the joined
        rows (read_joined, with start, end, as_of) and calls fn(DataFrame of
        one window's rows) per window, returning a DataFrame of window_start
        and value. Much slower than expr (every row crosses the wire and
        fn runs in Python per window) and computed anew at each call."""
        if (expr is None) == (fn is None):
            raise TypeError("register_metric: give exactly one of expr= and fn=")
        if fn is not None:
            size = int(window) or min(self.get_model(model_id).spec.window_seconds or [3600])
            df = self.read_joined(model_id, start=start, end=end, as_of=as_of, timeout=timeout)
            return joined.window_values(df, size, fn)
        req = pb.RegisterMetricRequest(model_id=model_id, name=name,
                                       window_seconds=int(window), expr=expr)
        return _metric_dict(self._unary("RegisterMetric", req, pb.Metric, model_id, timeout))

    def register_segmentation(self, model_id, name, expr, timeout=None):
        """Registers (or replaces) a segmentation: a row expression over the
        prediction's columns whose floored value is each row's group."""
        req = pb.RegisterSegmentationRequest(model_id=model_id, name=name, expr=expr)
        return _metric_dict(self._unary("RegisterSegmentation", req, pb.Metric, model_id,
                                        timeout))

    def list_metrics(self, model_id, timeout=None):
        """The model's metrics and segmentations as a DataFrame (name, kind,
        window_seconds, expr, created_at), by name."""
        resp = self._unary("ListMetrics", pb.ListMetricsRequest(model_id=model_id),
                           pb.ListMetricsResponse, model_id, timeout)
        cols = ["name", "kind", "window_seconds", "expr", "created_at"]
        return pd.DataFrame([_metric_dict(m) for m in resp.metrics], columns=cols)

    def delete_metric(self, model_id, name, timeout=None):
        self._unary("DeleteMetric", pb.DeleteMetricRequest(model_id=model_id, name=name),
                    pb.DeleteMetricResponse, model_id, timeout)

    def read_joined(self, model_id, start=None, end=None, as_of=None, columns=(),
                    format="pandas", batch_rows=0, timeout=None):
        """The predictions whose event time lies in [start, end) with their
        labels as the server knew them at `as_of` (a label received later
        is NaN; a prediction received later is absent), by event time then
        id. start/end/as_of: Unix seconds or anything pandas.Timestamp
        takes; None: unbounded / now. columns: names to return (id,
        timestamp, score, predicted, label, label_lag, label_time, segment,
        feature names); empty: all. format "pandas": one DataFrame;
        "numpy": an iterator of dicts of NumPy arrays, one per message
        (batch_rows rows; 0: the server's 65536); "arrow": an iterator of
        pyarrow.RecordBatch."""
        req = pb.ReadJoinedRequest(model_id=model_id, columns=list(columns),
                                   batch_rows=int(batch_rows),
                                   as_of=to_epoch_seconds([as_of])[0] if as_of is not None
                                   else 0.0)
        self._range(req, start, end)
        batches = self._read_joined(req, model_id, list(columns), timeout)
        if format == "pandas":
            return joined.to_frame(batches)
        if format == "numpy":
            return batches
        if format == "arrow":
            return (joined.to_arrow(c) for c in batches)
        raise ValueError("format: %r; expected pandas, numpy or arrow" % (format,))

    def _read_joined(self, req, model_id, asked, timeout):
        fn = self._channel.unary_stream(_SERVICE + "ReadJoined",
                                        request_serializer=lambda m: m.SerializeToString(),
                                        response_deserializer=pb.JoinedBatch.FromString)
        call = fn(req, timeout=self.timeout if timeout is None else timeout,
                  metadata=(("x-model-id", model_id),))
        try:
            for b in call:
                yield joined.batch_columns(b, asked)
        except grpc.RpcError as err:
            raise DriftdError.from_rpc_error(err, "ReadJoined") from None
        finally:
            call.cancel()

    def backfill_status(self, model_id, name, timeout=None):
        """How far the server got computing metric or segmentation `name`
        over the stored log: a dict with state ("pending", "reading",
        "computing", "done", "failed"), percent_done, rows_per_second,
        log_records_read/_total, rows_read, windows_done/_total,
        windows_skipped (stored before a restart), resumed,
        elapsed_seconds and error."""
        st = self._unary("GetBackfill", pb.GetBackfillRequest(model_id=model_id, name=name),
                         pb.BackfillStatus, model_id, timeout)
        out = {f.name: getattr(st, f.name) for f in st.DESCRIPTOR.fields
               if f.name not in ("model_id", "name")}
        out["state"] = pb.BackfillState.Name(st.state).replace("BACKFILL_STATE_", "").lower()
        return out

    def wait_backfill(self, model_id, name, timeout=60.0, poll=0.1):
        """Polls backfill_status until the state is "done" (returns it) or
        "failed" (raises DriftdError); TimeoutError after `timeout` s."""
        import time
        deadline = time.monotonic() + timeout
        while True:
            st = self.backfill_status(model_id, name)
            if st["state"] == "done":
                return st
            if st["state"] == "failed":
                raise DriftdError(grpc.StatusCode.INTERNAL, st["error"], "GetBackfill")
            if time.monotonic() > deadline:
                raise TimeoutError("backfill of %s/%s: %r" % (model_id, name, st))
            time.sleep(poll)

    def watch_alerts(self, model_id=None, firing_only=False, raw=False, timeout=None):
        """The alert states the server keeps by itself, as they change: a
        generator of snapshots, the first at once, then one after every
        change (a slow reader gets the newest, not each one in between).
        Each snapshot is a DataFrame with one row per (model, rule): `status`
        ("inactive", "pending", "firing", "resolved"), `since`, `episode`,
        `started_at` (the episode's start), `ended_at`, and the evidence of
        the rule's latest window (`window_start`, `window_end`, `n_rows`,
        `value`, `threshold`, `run`, `slos`). model_id: one model (default
        every model); firing_only: only firing states. raw=True yields the
        AlertSnapshot messages. timeout: seconds for the whole watch (default
        none). Closing the generator ends the call."""
        req = pb.WatchAlertsRequest(model_id=model_id or "", firing_only=firing_only)
        fn = self._channel.unary_stream(_SERVICE + "WatchAlerts",
                                        request_serializer=lambda m: m.SerializeToString(),
                                        response_deserializer=pb.AlertSnapshot.FromString)
        metadata = ((("x-model-id", model_id),) if model_id else ()) + self._auth or None
        call = fn(req, timeout=timeout, metadata=metadata)
        try:
            for snap in call:
                yield snap if raw else alert_states_frame(snap)
        except grpc.RpcError as err:
            raise DriftdError.from_rpc_error(err, "WatchAlerts") from None
        finally:
            call.cancel()


# ---------------------------------------------------------------- frames

_METRIC_KINDS = {pb.METRIC_KIND_METRIC: "metric", pb.METRIC_KIND_SEGMENTATION: "segmentation"}


def _metric_dict(m):
    return {"name": m.name, "kind": _METRIC_KINDS.get(m.kind, "unspecified"),
            "window_seconds": m.window_seconds, "expr": m.expr, "created_at": m.created_at}


def _window_cols(w):
    return {"window_start": w.start, "window_end": w.end, "n_rows": w.n_rows}


def _finish(rows, columns, time_cols=("window_start", "window_end")):
    df = pd.DataFrame(rows, columns=columns) if rows else pd.DataFrame(columns=columns)
    for c in time_cols:
        if c in df:
            df[c] = _datetime(df[c].to_numpy(dtype=np.float64))
    return df


_DRIFT_FEATURE_COLS = (["window_start", "window_end", "n_rows", "feature", "kind", "is_output",
                        "drifted", "drifted_by", "n_reference", "n_current", "relevance"])


_MV_FIELDS = ["n_reference", "n_window", "pca_components", "pca_explained", "pca_error",
              "pca_lower", "pca_upper", "pca_alert", "auc", "auc_lower", "auc_upper", "mmd2",
              "mmd_sigma", "mmd_pvalue", "mmd_permutations"]


def _multivariate_cols(msg):
    """A WindowDrift's or WindowDiagnosis' multivariate fields (NaN when
    absent)."""
    if not msg.HasField("multivariate"):
        return {k: math.nan for k in _MV_FIELDS}
    return {k: getattr(msg.multivariate, k) for k in _MV_FIELDS}


def drift_frame(resp, level="feature"):
    """DataFrame of a GetDriftResponse (see Client.drift)."""
    if level == "multivariate":
        rows = [dict(_window_cols(w.window), **_multivariate_cols(w)) for w in resp.windows]
        return _finish(rows, ["window_start", "window_end", "n_rows"] + _MV_FIELDS)
    if level == "dataset":
        rows = [dict(_window_cols(w.window), n_features=w.dataset.n_features,
                     n_drifted=w.dataset.n_drifted, share_drifted=w.dataset.share_drifted,
                     drifted=w.dataset.drifted, n_outputs=w.dataset.n_outputs,
                     n_outputs_drifted=w.dataset.n_outputs_drifted) for w in resp.windows]
        return _finish(rows, ["window_start", "window_end", "n_rows", "n_features",
                              "n_drifted", "share_drifted", "drifted", "n_outputs",
                              "n_outputs_drifted"])
    rows, stat_cols = [], []
    for w in resp.windows:
        for f in w.features:
            row = dict(_window_cols(w.window), feature=f.name, kind=_KIND_NAME.get(f.kind, ""),
                       is_output=f.is_output, drifted=f.drifted, n_reference=f.n_reference,
                       n_current=f.n_current,
                       relevance=f.relevance.value if f.HasField("relevance") else math.nan)
            by = []
            for s in f.statistics:
                name = _STAT_NAME.get(s.statistic, str(s.statistic))
                row[name] = s.value
                if s.has_p_value:
                    row[name + "_p"] = s.p_value
                if s.statistic == pb.STATISTIC_CHI2:
                    row["chi2_dof"] = s.dof
                if s.statistic == pb.STATISTIC_KS:
                    row["ks_method"] = s.method
                if s.statistic == pb.STATISTIC_WASSERSTEIN:
                    row["wasserstein_norm"] = s.normalized
                if s.drifted:
                    by.append(name)
                for key in row:
                    if key not in stat_cols and key not in _DRIFT_FEATURE_COLS:
                        stat_cols.append(key)
            row["drifted_by"] = ",".join(by)
            rows.append(row)
    return _finish(rows, _DRIFT_FEATURE_COLS + stat_cols)


_QUALITY_FIELDS = ["count", "missing", "missing_share", "n_pos_inf", "n_neg_inf", "min", "max",
                   "mean", "variance", "out_of_range_share", "unseen_share"]


def _quality_row(q):
    row = {"feature": q.name, "kind": _KIND_NAME.get(q.kind, ""), "is_output": q.is_output}
    row.update({k: getattr(q, k) for k in _QUALITY_FIELDS})
    return row


def quality_frame(resp, reference=False):
    """DataFrame of a GetDataQualityResponse (see Client.data_quality)."""
    if reference:
        return _finish([_quality_row(q) for q in resp.reference],
                       ["feature", "kind", "is_output"] + _QUALITY_FIELDS)
    rows = []
    for w in resp.windows:
        for q in w.features:
            row = _window_cols(w.window)
            row.update(_quality_row(q))
            rows.append(row)
    return _finish(rows, ["window_start", "window_end", "n_rows", "feature", "kind", "is_output"]
                   + _QUALITY_FIELDS)


_ESTIMATE_KIND = {v: k[len("ESTIMATE_KIND_"):].lower()
                  for k, v in pb.EstimateKind.items() if v}
_METHOD_NAME = {v: k[len("ESTIMATION_METHOD_"):].lower()
                for k, v in pb.EstimationMethod.items() if v}


def sli_frame(resp):
    """DataFrame of a GetSLIResponse (see Client.sli)."""
    rows, metric_cols = [], []
    for w in resp.windows:
        for g in w.subgroups:
            row = dict(_window_cols(w.window), subgroup=g.subgroup,
                       n_predictions=g.n_predictions, n_labelled=g.n_labelled,
                       n_expired=g.n_expired, coverage=g.coverage, lag_n=g.lag.n,
                       lag_p50=g.lag.p50, lag_p90=g.lag.p90, lag_p99=g.lag.p99,
                       lag_max=g.lag.max)
            for m in g.metrics:
                name = _METRIC_NAME.get(m.metric, str(m.metric))
                row[name] = m.value if m.defined else math.nan
                if m.metric == pb.SLI_METRIC_ROC_AUC:
                    row[name + "_error"] = m.error
            for e in g.estimates:
                name = _METRIC_NAME.get(e.metric, str(e.metric))
                row[name + "_estimate"] = e.value
                row[name + "_lower"] = e.lower
                row[name + "_upper"] = e.upper
                row[name + "_labelled_share"] = e.labelled_share
                row[name + "_rows"] = e.n_rows
                row[name + "_kind"] = _ESTIMATE_KIND.get(e.kind, "")
                row[name + "_method"] = _METHOD_NAME.get(e.method, "")
            for c in g.custom:  # user-defined metrics: name, or name[segmentation=group]
                col = "%s[%s=%d]" % (c.name, c.segmentation, c.group) if c.segmentation else c.name
                row[col] = c.value if c.defined else math.nan
            for key in row:
                if key not in metric_cols:
                    metric_cols.append(key)
            rows.append(row)
    base = ["window_start", "window_end", "n_rows", "subgroup", "n_predictions", "n_labelled",
            "n_expired", "coverage", "lag_n", "lag_p50", "lag_p90", "lag_p99", "lag_max"]
    return _finish(rows, base + [c for c in metric_cols if c not in base])


_SHIFT_KIND_NAME = {v: k[len("SHIFT_KIND_"):].lower() for k, v in pb.ShiftKind.items()}
_DIAGNOSIS_EVIDENCE = ["n_drifted", "n_quality", "multivariate_shift", "sli_window",
                       "sli_reference", "estimate_window", "estimate_lower", "estimate_upper",
                       "sli_change", "estimate_change", "sli_gap", "sli_gap_z",
                       "label_rate_change", "label_rate_z", "unexplained_rate",
                       "unexplained_rate_z", "expected_rate_z", "n_labelled",
                       "label_rate_window", "label_rate_reference", "expected_rate_window",
                       "expected_rate_reference"]
_QUALITY_HINT_FIELDS = ["feature", "missing", "out_of_range", "missing_share_reference",
                        "missing_share_window", "out_of_range_share"]
_UPSAMPLE_FIELDS = ["subgroup", "share_reference", "share_window", "rows_to_add"]


def diagnosis_frame(resp):
    """DataFrame of a GetDiagnosisResponse (see Client.diagnosis)."""
    rows = []
    for w in resp.windows:
        row = dict(_window_cols(w.window), kind=_SHIFT_KIND_NAME.get(w.kind, str(w.kind)),
                   confidence=w.confidence)
        row.update({k: getattr(w, k) for k in _DIAGNOSIS_EVIDENCE})
        row["quality"] = [{k: getattr(h, k) for k in _QUALITY_HINT_FIELDS}
                          for h in w.quality_features]
        row["top_features"] = [h.feature for h in w.top_features]
        row["upsample"] = [{k: getattr(h, k) for k in _UPSAMPLE_FIELDS} for h in w.upsample]
        row["retrain_start"] = w.retrain_start or math.nan
        row["retrain_end"] = w.retrain_end or math.nan
        row["multivariate"] = (_multivariate_cols(w) if w.HasField("multivariate") else None)
        rows.append(row)
    return _finish(rows, ["window_start", "window_end", "n_rows", "kind", "confidence"]
                   + _DIAGNOSIS_EVIDENCE + ["quality", "top_features", "upsample",
                                            "retrain_start", "retrain_end", "multivariate"],
                   ("window_start", "window_end", "retrain_start", "retrain_end"))


def _rule_cols(a):
    r = a.rule
    return {"rule": r.name, "kind": _ALERT_KIND_NAME.get(r.kind, str(r.kind)),
            "feature": r.feature, "statistic": _STAT_NAME.get(r.statistic, ""),
            "window_seconds": a.window_seconds, "consecutive_windows": a.consecutive_windows,
            "firing": a.firing}


_ALERT_RULE_COLS = ["rule", "kind", "feature", "statistic", "window_seconds",
                    "consecutive_windows", "firing"]


_ALERT_STATUS_NAME = {v: k[len("ALERT_STATUS_"):].lower()
                      for k, v in pb.AlertStatus.items() if v}
_ALERT_STATE_COLS = ["model_id", "rule", "kind", "severity", "status", "since", "episode",
                     "started_at", "ended_at", "evaluated_at", "window_start", "window_end",
                     "n_rows", "value", "threshold", "run", "slos"]


def _slo_list(slos):
    return [{"metric": _METRIC_NAME.get(s.slo.metric, str(s.slo.metric)), "value": s.value,
             "met": s.met, "estimated": s.estimated} for s in slos]


def alert_states_frame(snap):
    """DataFrame of an AlertSnapshot (see Client.watch_alerts); times as
    UTC datetimes, 0 (never) as NaT."""
    rows = []
    for a in snap.alerts:
        ev = a.evidence
        has = a.HasField("evidence")
        rows.append(dict(
            model_id=a.model_id, rule=a.rule, kind=_ALERT_KIND_NAME.get(a.kind, str(a.kind)),
            severity=a.severity, status=_ALERT_STATUS_NAME.get(a.status, str(a.status)),
            since=a.since, episode=a.episode, started_at=a.started_at or math.nan,
            ended_at=a.ended_at or math.nan, evaluated_at=a.evaluated_at,
            window_start=ev.window.start if has else math.nan,
            window_end=ev.window.end if has else math.nan,
            n_rows=ev.window.n_rows if has else 0, value=ev.value if has else math.nan,
            threshold=ev.threshold if has else math.nan, run=ev.run if has else 0,
            slos=_slo_list(ev.slos)))
    return _finish(rows, _ALERT_STATE_COLS, ("since", "started_at", "ended_at", "evaluated_at",
                                             "window_start", "window_end"))


def alerts_frame(resp, level="window"):
    """DataFrame of a GetAlertsResponse (see Client.alerts)."""
    if level == "rule":
        rows = []
        for a in resp.alerts:
            row = _rule_cols(a)
            has = a.HasField("latest")
            row.update(latest_start=a.latest.start if has else math.nan,
                       latest_end=a.latest.end if has else math.nan,
                       n_windows=len(a.windows), n_fired=sum(w.fired for w in a.windows))
            rows.append(row)
        return _finish(rows, _ALERT_RULE_COLS + ["latest_start", "latest_end", "n_windows",
                                                 "n_fired"], ("latest_start", "latest_end"))
    rows = []
    for a in resp.alerts:
        for w in a.windows:
            row = _rule_cols(a)
            row.update(_window_cols(w.window))
            row.update(value=w.value, threshold=w.threshold, met=w.met, run=w.run,
                       fired=w.fired, slos=_slo_list(w.slos))
            rows.append(row)
    return _finish(rows, _ALERT_RULE_COLS + ["window_start", "window_end", "n_rows", "value",
                                             "threshold", "met", "run", "fired", "slos"])
