"""The two learned arms of the Cui et al. 2016 high-order task: DeepHTM and an LSTM of similar size, both online.

Both see the same stream and the same symbol SDRs as the temporal memory (as dense 0/1 vectors), predict the next
element as 11 classes (the ten sequence symbols and "a noise symbol"), and take one Adam step per element on the
squared error of that prediction, with truncated backpropagation through time over the last ``bptt`` elements
(DeepHTM by backprop on its numba engine, ``engine="numba"``). The prediction of a sequence's last element is the
most likely of the ten sequence symbols. Sizes: DeepHTM with the seed's structure (256-unit encoder, 256 columns
with 5 winners, 5 cells each, 256-unit decoder), about 1.1M weights; an LSTM with 128 units and a linear read-out,
about 1.1M weights.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from htmagent._progress import progress

__all__ = ["run_seed_learned"]

_CLASSES = 11  # the ten sequence symbols, and "noise"


def _lstm(input_size: int, seed: int, lr: float) -> tuple[Any, Any, Any]:
    import torch
    from torch import nn

    from htmagent.deep import seeded_weights

    with seeded_weights(seed):
        lstm, head = nn.LSTM(input_size, 128, batch_first=True), nn.Linear(128, _CLASSES)
    optimizer = torch.optim.Adam(list(lstm.parameters()) + list(head.parameters()), lr=lr)
    return lstm, head, optimizer


def run_seed_learned(seed: int, args: Any, kind: str) -> dict:
    """One run of ``kind`` (``"deephtm"``, ``"deephtm-pc"`` or ``"lstm"``) on the stream of :func:`cui2016.run_seed` for ``seed``."""
    import torch
    from torch import nn

    from htmagent.experiments.cui2016 import NUM_SYMBOLS, seed_inputs

    torch.set_num_threads(1)
    encodings, symbols, before_end = seed_inputs(seed, args)
    dense = np.zeros((encodings.shape[0], args.column_count), dtype=np.float32)
    np.put_along_axis(dense, encodings, 1.0, axis=1)
    targets = np.eye(_CLASSES, dtype=np.float32)[np.minimum(symbols, NUM_SYMBOLS)]
    at, correct = [], []
    start = time.perf_counter()
    if kind in ("deephtm", "deephtm-pc"):
        from htmagent.deep import DeepHTM

        pc = dict(trainer="pc", pc_iterations=args.deep_pc_iterations, pc_value_lr=args.deep_pc_value_lr) \
            if kind == "deephtm-pc" else {}
        # Backprop runs on the numba engine (the torch engine's twin, several times faster per online step);
        # predictive coding has only the torch one.
        engine = {} if kind == "deephtm-pc" else {"engine": "numba"}
        model = DeepHTM(args.column_count, output_size=_CLASSES, bptt=args.deep_bptt, seed=seed, device="cpu", **pc,
                        **engine)
        for t in progress(range(args.num_elements - 1), desc=f"DeepHTM seed {seed}", enabled=args.progress):
            model.step(dense[symbols[t]], targets[t + 1])
            if before_end[t]:
                at.append(t + 1)
                correct.append(bool(int(model.prediction[:NUM_SYMBOLS].argmax()) == symbols[t + 1]))
    elif kind == "lstm":
        lstm, head, optimizer = _lstm(args.column_count, seed, 1e-3)
        window: list[tuple[Any, torch.Tensor]] = []
        hidden = None
        for t in progress(range(args.num_elements - 1), desc=f"LSTM seed {seed}", enabled=args.progress):
            window.append((hidden, torch.from_numpy(dense[symbols[t]])))
            if len(window) > args.lstm_bptt:
                window.pop(0)
            first = window[0][0]
            xs = torch.stack([x for _, x in window])[None]
            out, new_hidden = lstm(xs, None if first is None else (first[0].detach(), first[1].detach()))
            prediction = head(out[0, -1])
            loss = nn.functional.mse_loss(prediction, torch.from_numpy(targets[t + 1]))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            # The state the next element meets: after this one, computed before this step's update (the usual
            # online approximation of truncated BPTT).
            hidden = (new_hidden[0].detach(), new_hidden[1].detach())
            if before_end[t]:
                at.append(t + 1)
                correct.append(bool(int(prediction.detach()[:NUM_SYMBOLS].argmax()) == symbols[t + 1]))
    else:
        raise ValueError(f"kind must be 'deephtm', 'deephtm-pc' or 'lstm', got {kind!r}")
    return {"seed": seed, "at": at, "correct": correct, "wall_time_s": time.perf_counter() - start,
            "segments": 0, "synapses": 0}

