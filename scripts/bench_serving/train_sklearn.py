"""Train the MLflow peer models for scripts/bench_serving.py and log them with mlflow.

Usage (inside the venv that has mlflow 3.17.2 and scikit-learn):
    MLFLOW_TRACKING_URI=sqlite:///OUT/mlflow.db python train_sklearn.py TRAIN_CSV MODELS_JSON

Models (the brief of the serving benchmark; fixed seeds):
    logreg = Pipeline(StandardScaler, LogisticRegression(max_iter=1000))
    mlp    = Pipeline(StandardScaler, MLPClassifier((64, 64), random_state=0, max_iter=500))
Writes {"logreg": {"model_uri": ..., "train_accuracy": ...}, "mlp": {...}} to MODELS_JSON.

mlflow 3.17 serializes sklearn models with skops and refuses types it does not trust, so the MLP
needs skops_trusted_types=[AdamOptimizer] (see shared/reference/serving-peers.md).
"""

import json
import sys
import warnings

import mlflow
import mlflow.sklearn
import pandas as pd
from mlflow.models import infer_signature
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

TARGET = "target"

MODELS = {
    "logreg": (
        lambda: Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression(max_iter=1000))]),
        [],
    ),
    "mlp": (
        lambda: Pipeline(
            [("scale", StandardScaler()), ("clf", MLPClassifier((64, 64), random_state=0, max_iter=500))]
        ),
        ["sklearn.neural_network._stochastic_optimizers.AdamOptimizer"],
    ),
}


def train_and_log(name, make_model, trusted_types, x, y):
    """Fit one model, log it to the current tracking store and return its URI and train accuracy."""
    model = make_model().fit(x, y)
    accuracy = float((model.predict(x) == y).mean())
    with mlflow.start_run(run_name=name):
        mlflow.log_metric("train_accuracy", accuracy)
        info = mlflow.sklearn.log_model(
            model,
            name="model",
            signature=infer_signature(x, model.predict(x)),
            input_example=x.head(1),
            skops_trusted_types=trusted_types or None,
        )
    return {"model_uri": info.model_uri, "train_accuracy": accuracy}


def main():
    train_csv, models_json = sys.argv[1], sys.argv[2]
    warnings.filterwarnings("ignore")
    frame = pd.read_csv(train_csv)
    x, y = frame.drop(columns=[TARGET]), frame[TARGET]
    mlflow.set_experiment("bench-serving")
    out = {}
    for name, (make_model, trusted) in MODELS.items():
        out[name] = train_and_log(name, make_model, trusted, x, y)
        print(f"{name}: train accuracy {out[name]['train_accuracy']:.4f}  {out[name]['model_uri']}", flush=True)
    with open(models_json, "w") as f:
        json.dump(out, f, indent=2)


if __name__ == "__main__":
    main()
