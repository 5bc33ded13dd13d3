"""Shuffling BN for the momentum (key) encoder of MoCo-style methods (He et al. 2020, sec. 3.3).

With per-process BatchNorm, a query and its positive key see batch statistics computed over the
same set of samples, a signal the model can use to find the positive without learning anything
(MoCo's "information leak"). MoCo shuffles the key batch across processes before the key encoder
and unshuffles after, so a key's BN statistics come from other samples than its query's.

:func:`shuffled_forward` does that under DDP and has a single-process equivalent: the local batch
is permuted and the key encoder runs on ``num_splits`` separate sub-batches (each its own BN
statistics, as MoCo's ``SplitBatchNorm`` on one GPU), then the outputs are put back in order.
"""
import torch
import torch.distributed as torch_dist
from mmengine.dist import all_gather, get_rank, get_world_size


def _split_forward(fn, x, num_splits):
    splits = max(1, min(num_splits, x.shape[0] // 2))  # BN needs >= 2 samples per split
    outs = [fn(part) for part in x.chunk(splits, dim=0)]
    if torch.is_tensor(outs[0]):
        return torch.cat(outs, dim=0)
    return tuple(torch.cat(parts, dim=0) for parts in zip(*outs))


@torch.no_grad()
def shuffled_forward(fn, x, num_splits=1, generator=None):
    """``fn(x)`` with the batch shuffled for BatchNorm, outputs returned in ``x``'s order.

    Under DDP (world size > 1) all processes' batches are gathered, permuted with one
    permutation (drawn on rank 0, broadcast), each process runs ``fn`` on its slice of the
    permuted batch and the outputs are gathered and un-permuted (MoCo's ``_batch_shuffle_ddp``).
    On one process the batch is permuted and run in ``num_splits`` sub-batches.

    Args:
        fn (callable): the key encoder; maps (B, ...) to a tensor or a tuple of tensors (B, ...).
        x (Tensor): (B, C, H, W); every process must hold the same B.
        num_splits (int): sub-batches when running on one process (under DDP each process
            runs its slice of the shuffled batch as one BN batch, as MoCo).
        generator (torch.Generator, optional): for the permutation.

    Returns:
        Tensor | tuple[Tensor]: ``fn``'s outputs in the original sample order.
    """
    world = get_world_size()
    b = x.shape[0]
    if world == 1 and num_splits <= 1:  # one BN batch: shuffling changes nothing
        return fn(x)
    if world > 1:
        full = torch.cat(all_gather(x.contiguous()), dim=0)
        perm = torch.randperm(full.shape[0], generator=generator).to(x.device)
        torch_dist.broadcast(perm, src=0)
        rank = get_rank()
        local = full[perm[rank * b:(rank + 1) * b]]
    else:
        perm = torch.randperm(b, generator=generator).to(x.device)
        local = x[perm]
    out = fn(local) if world > 1 else _split_forward(fn, local, num_splits)
    single = torch.is_tensor(out)
    outs = (out, ) if single else tuple(out)
    inverse = torch.argsort(perm)
    restored = []
    for o in outs:
        if world > 1:
            o = torch.cat(all_gather(o.contiguous()), dim=0)[inverse]
            o = o[get_rank() * b:(get_rank() + 1) * b]
        else:
            o = o[inverse]
        restored.append(o)
    return restored[0] if single else tuple(restored)
