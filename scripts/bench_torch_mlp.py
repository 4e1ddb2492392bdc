"""PyTorch's side of the GPU benchmark (`scripts/gpu-bench.sh`): the same MLP
(64-64 ReLU, Adam lr 1e-3, batch 256, shuffled) on the CSV the Rust benchmark
wrote, on CUDA when available. Prints one JSON line like bench_sklearn_mlp.py."""
import json
import sys
import time

import numpy as np
import torch

path, epochs, batch = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
data = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.float32)
device = "cuda" if torch.cuda.is_available() else "cpu"
x = torch.from_numpy(data[:, :-1]).to(device)
y = torch.from_numpy(data[:, -1].astype(np.int64)).to(device)
torch.manual_seed(0)
model = torch.nn.Sequential(
    torch.nn.Linear(x.shape[1], 64), torch.nn.ReLU(),
    torch.nn.Linear(64, 64), torch.nn.ReLU(),
    torch.nn.Linear(64, 2),
).to(device)
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
loss_fn = torch.nn.CrossEntropyLoss()
if device == "cuda":
    torch.cuda.synchronize()
start = time.perf_counter()
for _ in range(epochs):
    order = torch.randperm(len(y), device=device)
    for i in range(0, len(y), batch):
        idx = order[i:i + batch]
        optimizer.zero_grad()
        loss = loss_fn(model(x[idx]), y[idx])
        loss.backward()
        optimizer.step()
if device == "cuda":
    torch.cuda.synchronize()
seconds = time.perf_counter() - start
with torch.no_grad():
    accuracy = (model(x).argmax(1) == y).float().mean().item()
print(json.dumps({
    "samples_per_s": len(y) * epochs / seconds,
    "seconds": seconds,
    "train_accuracy": accuracy,
    "device": torch.cuda.get_device_name(0) if device == "cuda" else "cpu",
}))
