"""Kernels of the DeepHTM's online step (:class:`htmagent.deep.DeepHTM` with ``engine="numba"``).

One call runs what :meth:`DeepHTM.step <htmagent.deep.DeepHTM.step>` runs in PyTorch for a single sequence: the
forward pass over the truncated-BPTT window (encoder -> k-winner columns -> cells chosen by context -> decoder on the
last step), the backward pass of the squared error, and the optimiser's update, written out by hand. The work follows
the codes' sparsity: only the ``k`` winning columns, their cells and the active cells' weights are touched, so a step
costs about two dense passes of the encoder's second layer and of the pooler instead of PyTorch's per-operation
overhead. The arrays are the model's own parameter tensors (NumPy views of them), updated in place; the PyTorch
model is the reference these kernels are tested against (``tests/test_deep_engine.py``).

Shapes (``I`` inputs, ``H`` hidden units, ``C`` columns, ``P`` cells per column, ``N = C * P`` cells, ``R`` context
rank, ``O`` outputs, ``w`` window steps, ``k`` winners): encoder ``W1 (H, I)``, ``W2 (H, H)``; pooler ``Ws (C, H)``
with mask ``Ms``; context ``U (R, N)`` and ``V (N, R)`` (full context: ``U`` is ``(0, 0)`` and ``V`` is ``(N, N)``);
decoder ``D1 (H, N)``, ``D2 (O, H)``; each layer's bias beside it.
"""

from __future__ import annotations

import math

import numpy as np

from htmagent._numba import kernel

__all__ = ["adam_update", "deephtm_online_step", "predict_columns"]

MODE_INFER, MODE_SGD, MODE_ADAM = 0, 1, 2


@kernel(fastmath=True)
def _affine_relu(W, b, x, z, h):
    """``z = W x + b``, ``h = relu(z)``."""
    for i in range(W.shape[0]):
        s = b[i]
        row = W[i]
        for j in range(x.shape[0]):
            s += row[j] * x[j]
        z[i] = s
        h[i] = s if s > 0 else np.float32(0.0)


@kernel(fastmath=True)
def _top_k(scores, k, out):
    """Indices of the ``k`` largest ``scores`` into ``out`` (largest first; ties: the lower index)."""
    taken = np.zeros(scores.shape[0], dtype=np.bool_)
    for j in range(k):
        best = -1
        for c in range(scores.shape[0]):
            if not taken[c] and (best < 0 or scores[c] > scores[best]):
                best = c
        taken[best] = True
        out[j] = best


@kernel
def _cells_before(t, c0_idx, c0_val, WIN, CHOSEN, COLV, CHV, P):
    """The non-zero cells (indices, values) that window step ``t`` reads as context: the window's starting cells for
    ``t = 0``, else step ``t - 1``'s chosen cell in each winning column."""
    if t == 0:
        return c0_idx, c0_val
    k = WIN.shape[1]
    idx = np.empty(k, dtype=np.int64)
    val = np.empty(k, dtype=np.float32)
    for j in range(k):
        idx[j] = WIN[t - 1, j] * P + CHOSEN[t - 1, j]
        val[j] = COLV[t - 1, j] * CHV[t - 1, j]
    return idx, val


@kernel(fastmath=True, error_model="numpy")
def deephtm_online_step(xs, c0_idx, c0_val, target, mode, lr,
                        W1, b1, W2, b2, Ws, bs, Ms, use_mask, duty, iterations, duty_period, density,
                        boost_strength, k, P, U, V, bv, D1, d1, D2, d2,
                        gW1, gb1, gW2, gb2, gWs, gbs, gU, gV, gbv, gD1, gd1, gD2, gd2,
                        out_pred, out_columns, out_cells, out_predicted):
    """One online step of the DeepHTM over a window of ``w`` inputs.

    Args:
        xs: float32 ``(w, I)`` window inputs, oldest first (the newest is this step's input).
        c0_idx, c0_val: the non-zero entries of the cell code the window starts from (treated as a constant: the
            truncation).
        target: float32 ``(O,)`` target of the newest step's prediction (ignored when ``mode`` is 0).
        mode: 0 = forward only, 1 = SGD step with learning rate ``lr`` (applied in place), 2 = gradients added
            into the ``g*`` arrays, which must hold zeros (:func:`adam_update` leaves them so).
        lr: SGD learning rate.
        W1 ... d2: the parameters (see the module docstring), float32.
        use_mask: apply ``Ms`` to ``Ws`` (sparse pooler weights).
        duty: float32 ``(C,)`` duty cycles, updated in place after every window step when ``mode`` > 0.
        iterations: the duty cycles' learning iterations before this call.
        duty_period, density, boost_strength: the k-winners' duty-cycle period, target density and boost.
        k, P: winners, cells per column.
        gW1 ... gd2: gradient arrays, shaped as the parameters (used when ``mode`` is 2).
        out_pred: float32 ``(O,)``: the newest step's prediction (before the update).
        out_columns: float32 ``(C,)``: the newest step's column activity (``k`` non-zero values).
        out_cells: float32 ``(N,)``: the newest step's cell activity (one non-zero cell per winning column).
        out_predicted: bool ``(C,)``: the columns predicted for the next step (modes 0 and 1; after mode 2, call
            :func:`predict_columns` once the optimiser has updated the weights).

    Returns:
        The squared error (mean over outputs) before the update (NaN when ``mode`` is 0), and the number of
        learning iterations after the call.
    """
    w, n_in = xs.shape
    H = W1.shape[0]
    C = Ws.shape[0]
    O = D2.shape[0]
    rank = U.shape[0]
    learn = mode > 0
    f1 = np.float32(1.0)
    zero = np.float32(0.0)
    # ------------------------------------------------------------------ forward over the window
    Z1 = np.empty((w, H), dtype=np.float32)
    H1 = np.empty((w, H), dtype=np.float32)
    Z2 = np.empty((w, H), dtype=np.float32)
    H2 = np.empty((w, H), dtype=np.float32)
    WIN = np.empty((w, k), dtype=np.int64)
    ZSW = np.empty((w, k), dtype=np.float32)  # the winners' pooler input (before the ReLU)
    COLV = np.empty((w, k), dtype=np.float32)  # the winners' column activity
    SOFT = np.empty((w, k, P), dtype=np.float32)
    CHOSEN = np.empty((w, k), dtype=np.int64)
    CHV = np.empty((w, k), dtype=np.float32)  # the chosen cell's straight-through factor (1 + s - s)
    UV = np.zeros((w, max(rank, 1)), dtype=np.float32)
    zs = np.empty(C, dtype=np.float32)
    scores = np.empty(C, dtype=np.float32)
    boost_base = np.float32(density)
    bst = np.float32(boost_strength)
    it = iterations
    for t in range(w):
        _affine_relu(W1, b1, xs[t], Z1[t], H1[t])
        _affine_relu(W2, b2, H1[t], Z2[t], H2[t])
        h2 = H2[t]
        for c in range(C):
            s = bs[c]
            row = Ws[c]
            if use_mask:
                mrow = Ms[c]
                for j in range(H):
                    s += row[j] * mrow[j] * h2[j]
            else:
                for j in range(H):
                    s += row[j] * h2[j]
            zs[c] = s
            a = (s if s > 0 else zero) + np.float32(1e-6)
            if boost_strength > 0:
                a = a * np.float32(math.exp(bst * (boost_base - duty[c])))
            scores[c] = a
        _top_k(scores, k, WIN[t])
        if learn:  # duty cycles learn from every forward pass of the window, as the k-winners layer does
            it += 1
            period = min(duty_period, it)
            for c in range(C):
                duty[c] = duty[c] * np.float32(period - 1)
            for j in range(k):
                duty[WIN[t, j]] += f1
            for c in range(C):
                duty[c] = duty[c] / np.float32(period)
        # The context: u = U c_prev (rank) from the previous cells' non-zero entries.
        prev_idx, prev_val = _cells_before(t, c0_idx, c0_val, WIN, CHOSEN, COLV, CHV, P)
        if rank > 0:
            for r in range(rank):
                s = zero
                for q in range(prev_idx.shape[0]):
                    s += U[r, prev_idx[q]] * prev_val[q]
                UV[t, r] = s
        for j in range(k):
            c = WIN[t, j]
            zsv = zs[c]
            ZSW[t, j] = zsv
            COLV[t, j] = (zsv if zsv > 0 else zero) + np.float32(1e-6)
            best = 0
            top = np.float32(-np.inf)
            for p in range(P):
                n = c * P + p
                s = bv[n]
                if rank > 0:
                    for r in range(rank):
                        s += V[n, r] * UV[t, r]
                else:
                    for q in range(prev_idx.shape[0]):
                        s += V[n, prev_idx[q]] * prev_val[q]
                SOFT[t, j, p] = s
                if s > top:
                    top = s
                    best = p
            total = zero
            for p in range(P):
                e = np.float32(math.exp(SOFT[t, j, p] - top))
                SOFT[t, j, p] = e
                total += e
            for p in range(P):
                SOFT[t, j, p] = SOFT[t, j, p] / total
            CHOSEN[t, j] = best
            sb = SOFT[t, j, best]
            CHV[t, j] = (f1 + sb) - sb
    # The decoder on the newest step: its cells are non-zero at one cell per winner.
    last = w - 1
    Hd = D1.shape[0]
    z3 = np.empty(Hd, dtype=np.float32)
    h3 = np.empty(Hd, dtype=np.float32)
    act_idx, act_val = _cells_before(w, c0_idx, c0_val, WIN, CHOSEN, COLV, CHV, P)  # the newest step's cells
    for h in range(Hd):
        s = d1[h]
        for j in range(k):
            s += D1[h, act_idx[j]] * act_val[j]
        z3[h] = s
        h3[h] = s if s > 0 else zero
    for o in range(O):
        s = d2[o]
        for h in range(Hd):
            s += D2[o, h] * h3[h]
        out_pred[o] = s
    out_columns[:] = zero
    out_cells[:] = zero
    for j in range(k):
        out_columns[WIN[last, j]] = COLV[last, j]
        out_cells[act_idx[j]] = act_val[j]
    loss = np.nan
    if mode > 0:
        # -------------------------------------------------------------- backward
        dpred = np.empty(O, dtype=np.float32)
        acc = 0.0
        for o in range(O):
            diff = out_pred[o] - target[o]
            acc += diff * diff
            dpred[o] = np.float32(2.0) * diff / np.float32(O)
        loss = acc / O
        dz3 = np.empty(Hd, dtype=np.float32)
        for h in range(Hd):
            s = zero
            for o in range(O):
                s += D2[o, h] * dpred[o]
            dz3[h] = s if z3[h] > 0 else zero
        # d loss / d cells of the newest step, on every cell of its winning columns.
        dcells = np.zeros((w, k, P), dtype=np.float32)
        for j in range(k):
            c = WIN[last, j]
            for p in range(P):
                n = c * P + p
                s = zero
                for h in range(Hd):
                    s += D1[h, n] * dz3[h]
                dcells[last, j, p] = s
        DSC = np.zeros((w, k, P), dtype=np.float32)  # d loss / d context scores
        DU = np.zeros((w, max(rank, 1)), dtype=np.float32)
        DZS = np.zeros((w, k), dtype=np.float32)
        DZ2 = np.zeros((w, H), dtype=np.float32)
        DZ1 = np.zeros((w, H), dtype=np.float32)
        dh2 = np.empty(H, dtype=np.float32)
        for t in range(w - 1, -1, -1):
            for j in range(k):
                colv = COLV[t, j]
                dot = zero
                for p in range(P):
                    dot += SOFT[t, j, p] * dcells[t, j, p] * colv
                for p in range(P):
                    DSC[t, j, p] = SOFT[t, j, p] * (dcells[t, j, p] * colv - dot)
                dcol = dcells[t, j, CHOSEN[t, j]] * CHV[t, j]
                DZS[t, j] = dcol if ZSW[t, j] > 0 else zero
            if rank > 0:
                for r in range(rank):
                    s = zero
                    for j in range(k):
                        base = WIN[t, j] * P
                        for p in range(P):
                            s += V[base + p, r] * DSC[t, j, p]
                    DU[t, r] = s
            if t > 0:  # into the previous step's cells (the window's first cells are a constant)
                for j2 in range(k):
                    base2 = WIN[t - 1, j2] * P
                    for p2 in range(P):
                        m = base2 + p2
                        s = zero
                        if rank > 0:
                            for r in range(rank):
                                s += U[r, m] * DU[t, r]
                        else:
                            for j in range(k):
                                base = WIN[t, j] * P
                                for p in range(P):
                                    s += V[base + p, m] * DSC[t, j, p]
                        dcells[t - 1, j2, p2] = s
            # The pooler and the encoder.
            for i in range(H):
                dh2[i] = zero
            for j in range(k):
                g = DZS[t, j]
                if g != 0:
                    row = Ws[WIN[t, j]]
                    if use_mask:
                        mrow = Ms[WIN[t, j]]
                        for i in range(H):
                            dh2[i] += row[i] * mrow[i] * g
                    else:
                        for i in range(H):
                            dh2[i] += row[i] * g
            for i in range(H):
                DZ2[t, i] = dh2[i] if Z2[t, i] > 0 else zero
            dh1 = DZ1[t]  # W2^T dz2, row by row (contiguous), skipping the units the ReLU cut
            for i in range(H):
                g = DZ2[t, i]
                if g != 0:
                    row = W2[i]
                    for j in range(H):
                        dh1[j] += row[j] * g
            for j in range(H):
                if Z1[t, j] <= 0:
                    dh1[j] = zero
        # -------------------------------------------------------------- the update (or the gradients)
        adam = mode == 2
        step = np.float32(-lr)
        # decoder
        for o in range(O):
            for h in range(Hd):
                if adam:
                    gD2[o, h] += dpred[o] * h3[h]
                else:
                    D2[o, h] += step * dpred[o] * h3[h]
            if adam:
                gd2[o] += dpred[o]
            else:
                d2[o] += step * dpred[o]
        for h in range(Hd):
            for j in range(k):
                if adam:
                    gD1[h, act_idx[j]] += dz3[h] * act_val[j]
                else:
                    D1[h, act_idx[j]] += step * dz3[h] * act_val[j]
            if adam:
                gd1[h] += dz3[h]
            else:
                d1[h] += step * dz3[h]
        for t in range(w):
            prev_idx, prev_val = _cells_before(t, c0_idx, c0_val, WIN, CHOSEN, COLV, CHV, P)
            for j in range(k):
                base = WIN[t, j] * P
                for p in range(P):
                    n = base + p
                    g = DSC[t, j, p]
                    if rank > 0:
                        for r in range(rank):
                            if adam:
                                gV[n, r] += g * UV[t, r]
                            else:
                                V[n, r] += step * g * UV[t, r]
                    else:
                        for q in range(prev_idx.shape[0]):
                            if adam:
                                gV[n, prev_idx[q]] += g * prev_val[q]
                            else:
                                V[n, prev_idx[q]] += step * g * prev_val[q]
                    if adam:
                        gbv[n] += g
                    else:
                        bv[n] += step * g
            if rank > 0:
                for r in range(rank):
                    for q in range(prev_idx.shape[0]):
                        if adam:
                            gU[r, prev_idx[q]] += DU[t, r] * prev_val[q]
                        else:
                            U[r, prev_idx[q]] += step * DU[t, r] * prev_val[q]
            h2 = H2[t]
            for j in range(k):
                c = WIN[t, j]
                g = DZS[t, j]
                if adam:
                    for i in range(H):
                        gWs[c, i] += g * h2[i] * (Ms[c, i] if use_mask else f1)
                    gbs[c] += g
                elif g != 0:
                    for i in range(H):
                        Ws[c, i] += step * g * h2[i] * (Ms[c, i] if use_mask else f1)
                    bs[c] += step * g
            h1 = H1[t]
            x = xs[t]
            # The two dense layers' rows, written out (a shared helper for both measured 30% slower: 4,671 vs
            # 6,171 SGD steps per CPU-second; numba no longer sees that the arrays it writes are distinct).
            for i in range(H):
                g = DZ2[t, i]
                if adam:
                    for j in range(H):
                        gW2[i, j] += g * h1[j]
                    gb2[i] += g
                elif g != 0:
                    for j in range(H):
                        W2[i, j] += step * g * h1[j]
                    b2[i] += step * g
                g = DZ1[t, i]
                if adam:
                    for j in range(n_in):
                        gW1[i, j] += g * x[j]
                    gb1[i] += g
                elif g != 0:
                    for j in range(n_in):
                        W1[i, j] += step * g * x[j]
                    b1[i] += step * g
    if mode != 2:  # after an Adam step the weights change outside this call: see predict_columns
        _predict_columns(act_idx, act_val, U, V, bv, C, P, k, out_predicted)
    return loss, it


@kernel(fastmath=True)
def _predict_columns(act_idx, act_val, U, V, bv, C, P, k, out_predicted):
    """The columns whose best cell the current cells' context scores highest (the ``k`` strongest)."""
    rank = U.shape[0]
    u = np.zeros(max(rank, 1), dtype=np.float32)
    if rank > 0:
        for r in range(rank):
            s = np.float32(0.0)
            for q in range(act_idx.shape[0]):
                s += U[r, act_idx[q]] * act_val[q]
            u[r] = s
    strength = np.empty(C, dtype=np.float32)
    for c in range(C):
        top = np.float32(-np.inf)
        for p in range(P):
            n = c * P + p
            s = bv[n]
            if rank > 0:
                for r in range(rank):
                    s += V[n, r] * u[r]
            else:
                for q in range(act_idx.shape[0]):
                    s += V[n, act_idx[q]] * act_val[q]
            if s > top:
                top = s
        strength[c] = top
    index = np.empty(k, dtype=np.int64)
    _top_k(strength, k, index)
    out_predicted[:] = False
    for j in range(k):
        out_predicted[index[j]] = True


@kernel
def predict_columns(cells, U, V, bv, C, P, k, out_predicted):
    """:func:`_predict_columns` from a dense cell code (after an Adam update, or for a loaded model)."""
    idx = np.flatnonzero(cells)
    val = np.empty(idx.shape[0], dtype=np.float32)
    for q in range(idx.shape[0]):
        val[q] = cells[idx[q]]
    _predict_columns(idx, val, U, V, bv, C, P, k, out_predicted)


@kernel(fastmath=True, error_model="numpy")
def adam_update(params, grads, exp_avgs, exp_avg_sqs, lr, beta1, beta2, eps, bias_correction1,
                bias_correction2_sqrt):
    """Adam (no weight decay) in place over tuples of flat float32 arrays: parameters, gradients and moments.

    ``bias_correction1 = 1 - beta1 ** t`` and ``bias_correction2_sqrt = sqrt(1 - beta2 ** t)`` for step ``t``, as
    ``torch.optim.Adam`` computes them. The gradients are set to zero as they are used, and moments below 1e-30 to
    zero (subnormal floats would slow every later step several times over; torch keeps them).
    """
    b1 = np.float32(beta1)
    b2 = np.float32(beta2)
    c1 = np.float32(1.0) - b1
    c2 = np.float32(1.0) - b2
    step = np.float32(lr / bias_correction1)
    inv_bc2 = np.float32(1.0 / bias_correction2_sqrt)
    e = np.float32(eps)
    tiny = np.float32(1e-30)
    for a in range(len(params)):
        p = params[a]
        g = grads[a]
        m = exp_avgs[a]
        v = exp_avg_sqs[a]
        for i in range(p.shape[0]):
            gi = g[i]
            mi = m[i] + c1 * (gi - m[i])
            vi = v[i] * b2 + c2 * gi * gi
            # Moments that decay below 1e-30 are flushed to zero: left alone they become subnormal floats, on
            # which the CPU's arithmetic is many times slower (their share of an update is below 1e-22).
            mi = mi if abs(mi) >= tiny else np.float32(0.0)
            vi = vi if vi >= tiny else np.float32(0.0)
            m[i] = mi
            v[i] = vi
            p[i] -= step * mi / (np.sqrt(vi) * inv_bc2 + e)
            g[i] = np.float32(0.0)  # ready for the next step's gradients
