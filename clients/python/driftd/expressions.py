"""The built-in SLIs written in driftd's metric expression language
(docs/metrics.md), for users who want a variant of one (a filter, another
threshold) and for the tests that check the language against the built-ins.

Each text is what `client.register_metric(model, name, window, expr=...)`
takes. ECE and macro F1 are not listed: they need per-bin or per-class
grouping that one expression does not say.
"""

# numpy.finfo(float64).eps: scikit-learn's clipping of log loss and MAPE.
EPS = "2.220446049250313e-16"

BINARY = {
    "accuracy": "mean(predicted == label)",
    "precision": "ratio(predicted == 1 and label == 1, predicted == 1)",
    "recall": "ratio(predicted == 1 and label == 1, label == 1)",
    "f1": ("2 * sum(predicted == 1 and label == 1) / (2 * sum(predicted == 1 and label == 1)"
           " + sum(predicted == 1 and label == 0) + sum(predicted == 0 and label == 1))"),
    "roc_auc": "auc(score, label)",
    "log_loss": ("mean(-(label * log(clip(score, {e}, 1 - {e}))"
                 " + (1 - label) * log(1 - clip(score, {e}, 1 - {e}))))").format(e=EPS),
    "brier": "mean((score - label) ^ 2)",
}

MULTICLASS = {
    "accuracy": "mean(predicted == label)",
}

REGRESSION = {
    "mae": "mean(abs(score - label))",
    "rmse": "sqrt(mean((score - label) ^ 2))",
    "mape": "mean(abs(score - label) / max(abs(label), {e}))".format(e=EPS),
}
