"""A minimal, deterministic PyTorch training loop for the chapters' experiments."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class History:
    """Per-epoch training loss (mean over batches) and test accuracy; per-step losses too."""

    train_loss: list[float] = field(default_factory=list)
    test_accuracy: list[float] = field(default_factory=list)
    step_loss: list[float] = field(default_factory=list)
    learning_rate: list[float] = field(default_factory=list)


def fit(model, optimizer, X_train: np.ndarray, y_train: np.ndarray, X_test: np.ndarray,
        y_test: np.ndarray, *, epochs: int, batch_size: int, seed: int = 0,
        scheduler=None, progress: bool = False) -> History:
    """Train ``model`` with cross-entropy; shuffles with a seeded generator each epoch.

    ``scheduler`` (optional) is stepped once per *batch*. With ``progress=True`` a tqdm bar is
    shown (meant for the command line; the built book keeps it off).
    """
    import torch
    from torch.nn.functional import cross_entropy

    dtype = next(model.parameters()).dtype
    dev = next(model.parameters()).device
    Xtr = torch.as_tensor(X_train, dtype=dtype, device=dev)
    ytr = torch.as_tensor(y_train, dtype=torch.long, device=dev)
    Xte = torch.as_tensor(X_test, dtype=dtype, device=dev)
    yte = torch.as_tensor(y_test, dtype=torch.long, device=dev)
    generator = torch.Generator().manual_seed(seed)
    history = History()
    epochs_iter = range(epochs)
    if progress:
        from tqdm.auto import tqdm

        epochs_iter = tqdm(epochs_iter, desc="epochs")
    for _ in epochs_iter:
        model.train()
        order = torch.randperm(len(ytr), generator=generator).to(dev)
        losses = []
        for start in range(0, len(ytr), batch_size):
            batch = order[start:start + batch_size]
            optimizer.zero_grad()
            loss = cross_entropy(model(Xtr[batch]), ytr[batch])
            loss.backward()
            optimizer.step()
            history.learning_rate.append(optimizer.param_groups[0]["lr"])
            if scheduler is not None:
                scheduler.step()
            losses.append(loss.item())
        history.step_loss.extend(losses)
        history.train_loss.append(float(np.mean(losses)))
        model.eval()
        with torch.no_grad():
            history.test_accuracy.append((model(Xte).argmax(1) == yte).double().mean().item())
    return history
