"""Dense contrastive losses computed in row chunks, so HW x HW affinities never exist at once.

A 1/8-scale feature map of a 512 x 1024 frame has hw = 8192 pixels: one hw x hw affinity is 268 MB
per image in float32, and the pixel-vs-queue logits (hw x 16384) twice that. Every function here
takes per-image pixel sets ``(N, hw, D)`` (unit vectors) and processes ``chunk`` query rows at a
time (all images of the batch together, batched matmuls); when gradients are needed each chunk
runs under activation checkpointing, so the backward pass also holds one chunk at a time. The
result equals the unchunked computation (tested).

Used by CACL (pixel head, cycle-attention head) and VADeR (pixel NCE over matched pixels).
"""
import torch
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint


def rows_per_chunk(num_images, num_cols, max_elems):
    """Rows per chunk so that one (num_images, rows, num_cols) block holds <= max_elems."""
    return max(1, int(max_elems) // max(1, num_images * num_cols))


def chunked_rows(fn, rows, shared=(), chunk=None):
    """``cat([fn(*row_chunk, *shared) for row_chunk], dim=1)``.

    Args:
        fn (callable): maps row tensors (N, b, ...) and the shared tensors to (N, b) or
            (N, b, ...).
        rows (tuple[Tensor]): tensors split along dim 1 (the query pixels).
        shared (tuple[Tensor]): tensors every chunk needs whole.
        chunk (int, optional): rows per chunk; None: one chunk.
    """
    n_rows = rows[0].shape[1]
    if chunk is None or chunk >= n_rows:
        return fn(*rows, *shared)
    needs_grad = torch.is_grad_enabled() and any(
        t.requires_grad for t in (*rows, *shared) if torch.is_tensor(t))
    outs = []
    for s in range(0, n_rows, chunk):
        part = tuple(r[:, s:s + chunk] for r in rows)
        if needs_grad:
            outs.append(checkpoint(fn, *part, *shared, use_reentrant=False))
        else:
            outs.append(fn(*part, *shared))
    return torch.cat(outs, dim=1)


@torch.no_grad()
def nearest_by_affinity(a, b, chunk=None):
    """For every pixel of ``a`` the index of its most similar pixel of ``b`` (CACL eq. 4,
    ``argmax_j <a_i, b_j>``).

    Args:
        a (Tensor): (N, P, D). b (Tensor): (N, Q, D).

    Returns:
        LongTensor: (N, P) indices into Q.
    """
    return chunked_rows(lambda x, y: torch.bmm(x, y.transpose(1, 2)).argmax(dim=2), (a, ), (b, ),
                        chunk)


def _infonce_rows(q, k, queue, tau):
    pos = (q * k).sum(-1, keepdim=True)  # (N, b, 1)
    neg = torch.matmul(q, queue.t())  # (N, b, K)
    logits = torch.cat([pos, neg], dim=-1) / tau
    return torch.logsumexp(logits, dim=-1) - logits[..., 0]


def pixel_infonce(q, k, queue, tau=0.07, chunk=None):
    """Per-pixel InfoNCE: ``-log exp(q.k/tau) / (exp(q.k/tau) + sum_n exp(q.n/tau))``.

    Args:
        q (Tensor): (N, P, D) query pixels (online network, unit vectors).
        k (Tensor): (N, P, D) their positives (momentum network, unit vectors).
        queue (Tensor): (K, D) negatives shared by all queries.
        tau (float): temperature.
        chunk (int, optional): query rows per chunk.

    Returns:
        Tensor: (N, P) losses.
    """
    return chunked_rows(lambda a, b, n: _infonce_rows(a, b, n, tau), (q, k), (queue, ), chunk)


def _log_z_rows(cp, c, neg, tau):
    """log of the normaliser of the return jump ``c+_j -> {c} U {c-}`` (N, b)."""
    lz = torch.logsumexp(torch.bmm(cp, c.transpose(1, 2)) / tau, dim=-1)
    if neg is not None and neg.numel():
        lz = torch.logaddexp(lz, torch.logsumexp(torch.matmul(cp, neg.t()) / tau, dim=-1))
    return lz


def _cross_entropy_cols(log_p1, cp, c_cols, log_z, t_cols, tau):
    """``sum_i' T_ii' log M_ii'`` over one column block i' (N, b): ``M = P1 @ P2`` as a batched
    matmul of the two jump probabilities (memory b x cols + hw x cols, no 4-D tensor)."""
    p2 = torch.exp(torch.bmm(cp, c_cols.transpose(1, 2)) / tau - log_z[:, :, None])  # (N, hw, c)
    m = torch.bmm(log_p1.exp(), p2)  # (N, b, cols)
    return (t_cols * torch.log(m.clamp_min(1e-30))).sum(-1)


def _cycle_rows(c_rows, u_rows, c, cp, log_z, up, tau, chunk):
    """Cycle loss of the query rows ``c_rows`` (N, b, D). ``log M_ii' = logsumexp_j(log P1_ij +
    <c+_j, c_i'>/tau - log Z_j)``; hard target: ``-log M_ii``; soft: KL(T_i || M_i)."""
    s1 = torch.bmm(c_rows, cp.transpose(1, 2)) / tau  # (N, b, hw): <c_i, c+_j>
    log_p1 = torch.log_softmax(s1, dim=-1)
    if up is None:  # identity target: only M_ii is needed, and <c+_j, c_i> = s1_ij
        return -torch.logsumexp(log_p1 + s1 - log_z[:, None, :], dim=-1)
    with torch.no_grad():
        target = torch.softmax(torch.bmm(u_rows, up.transpose(1, 2)) / tau, dim=-1)
    hw = c.shape[1]
    cols = chunk or hw
    loss = (target * torch.log(target.clamp_min(1e-30))).sum(-1)
    use_ckpt = torch.is_grad_enabled() and cols < hw
    for s in range(0, hw, cols):
        args = (log_p1, cp, c[:, s:s + cols], log_z, target[..., s:s + cols], tau)
        if use_ckpt:
            loss = loss - checkpoint(_cross_entropy_cols, *args, use_reentrant=False)
        else:
            loss = loss - _cross_entropy_cols(*args)
    return loss


def cycle_loss(c, cp, neg=None, tau=0.07, u=None, up=None, chunk=None):
    """CACL's cycle-attention loss (eqs. 5-6) per pixel, chunked.

    ``M = softmax(<c, c+>/tau) x softmax(<c+, [c; c-]>/tau)``: a walk from every pixel of frame 1
    to frame 2 and back to frame 1 or to a negative. Hard target: cross entropy of ``M`` with the
    identity, ``-log M_ii``. Soft cycle (``u``, ``up`` given): KL divergence from the target
    ``softmax(<u, u+>/tau)`` (global-head pixels; frame 2's pixel j sits at the same crop
    position as frame 1's pixel j, so this is a soft identity), no gradient through the target.
    The soft target needs every ``M_ii'``: O(hw^3) per image, against O(hw^2) for the hard one.

    Args:
        c (Tensor): (N, hw, D) frame-1 pixels (online network, unit vectors).
        cp (Tensor): (N, hw, D) frame-2 pixels ``c+`` (unit vectors).
        neg (Tensor, optional): (K, D) negatives ``c-`` added to the return jump.
        tau (float): temperature.
        u, up (Tensor, optional): (N, hw, D') global-head pixels of both frames (soft cycle).
        chunk (int, optional): rows (and, soft cycle, columns) per chunk.

    Returns:
        Tensor: (N, hw) losses.
    """
    if (u is None) != (up is None):
        raise ValueError('the soft cycle needs both u and up')
    log_z = chunked_rows(lambda a, b, n: _log_z_rows(a, b, n, tau), (cp, ), (c, neg), chunk)
    rows = (c, ) if u is None else (c, u)

    def fn(c_rows, *rest):
        u_rows, (c_all, cp_, lz, up_) = (None, rest) if u is None else (rest[0], rest[1:])
        return _cycle_rows(c_rows, u_rows, c_all, cp_, lz, up_, tau, chunk)
    return chunked_rows(fn, rows, (c, cp, log_z, up), chunk)


def normalize_pixels(x):
    """(N, D, h, w) -> unit vectors (N, hw, D)."""
    return F.normalize(x.flatten(2).transpose(1, 2), dim=-1)
