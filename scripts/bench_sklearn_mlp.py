"""scikit-learn's side of `cargo bench -p smelt-trainer --bench train_mlp`.

Reads the CSV the Rust benchmark wrote (features x0..x49, label y), trains
MLPClassifier with the same architecture, batch size and epochs, and prints
one JSON line: {"samples_per_s": ..., "seconds": ..., "train_accuracy": ...}.
"""
import json
import sys
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

path, epochs, batch = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
data = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.float32)
x, y = data[:, :-1], data[:, -1].astype(np.int64)
model = MLPClassifier(
    hidden_layer_sizes=(64, 64),
    activation="relu",
    solver="adam",
    alpha=0.0,
    batch_size=batch,
    learning_rate_init=1e-3,
    max_iter=epochs,
    shuffle=True,
    random_state=0,
    tol=0.0,
    n_iter_no_change=epochs + 1,
    early_stopping=False,
)
warnings.simplefilter("ignore", ConvergenceWarning)
start = time.perf_counter()
model.fit(x, y)
seconds = time.perf_counter() - start
print(json.dumps({
    "samples_per_s": len(y) * epochs / seconds,
    "seconds": seconds,
    "train_accuracy": float(model.score(x, y)),
}))
