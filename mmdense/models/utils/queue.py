"""First-in-first-out queue of negative keys (image vectors or sampled pixel vectors).

MoCo (He et al. 2020) keeps the momentum encoder's keys of past batches as negatives. CACL keeps
one queue per head (16384 image vectors for the global head, 16384 pixel vectors each for the
pixel and cycle heads); VADeR keeps 65,536 pixel vectors. This module is that queue, written once:

* keys are gathered from all processes before they are enqueued (every process holds the same
  queue, as MoCo's ``concat_all_gather``);
* the write pointer is a buffer, so it is saved in checkpoints and restored on resume together
  with the keys;
* a batch whose size does not divide the queue length wraps around the end; a batch longer than
  the queue keeps its last ``length`` keys.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.dist import all_gather, get_world_size


def sample_pixels(feats, num, generator=None):
    """``num`` random pixel vectors per image, without replacement.

    Args:
        feats (Tensor): (N, D, h, w) dense features.
        num (int): pixels per image (all of them when ``num >= h * w``).
        generator (torch.Generator, optional): for reproducible draws.

    Returns:
        Tensor: (N * min(num, h * w), D).
    """
    n, d, h, w = feats.shape
    flat = feats.flatten(2).transpose(1, 2)  # (N, hw, D)
    if num >= h * w:
        return flat.reshape(-1, d)
    idx = torch.stack([torch.randperm(h * w, generator=generator)[:num] for _ in range(n)])
    idx = idx.to(feats.device)
    return torch.gather(flat, 1, idx[..., None].expand(-1, -1, d)).reshape(-1, d)


class FeatureQueue(nn.Module):
    """A FIFO queue of ``length`` unit vectors of size ``dim`` (initialised random, as MoCo).

    Args:
        length (int): number of keys kept.
        dim (int): key size.
        gather (bool): gather keys from all processes before enqueueing. Defaults to True.

    Buffers (in ``state_dict``): ``queue`` (length, dim), ``ptr`` (1,) long: the next write row.
    """

    def __init__(self, length, dim, gather=True):
        super().__init__()
        if length <= 0 or dim <= 0:
            raise ValueError(f'queue length and dim must be positive, got {length}, {dim}')
        self.length = length
        self.dim = dim
        self.gather = gather
        self.register_buffer('queue', F.normalize(torch.randn(length, dim), dim=1))
        self.register_buffer('ptr', torch.zeros(1, dtype=torch.long))

    @torch.no_grad()
    def enqueue(self, keys):
        """Write ``keys`` (B, dim) (from this process; all processes' when ``gather``)."""
        if keys.dim() != 2 or keys.shape[1] != self.dim:
            raise ValueError(f'keys must be (B, {self.dim}), got {tuple(keys.shape)}')
        keys = keys.detach()
        if self.gather and get_world_size() > 1:
            keys = torch.cat(all_gather(keys.contiguous()), dim=0)
        keys = keys.to(self.queue.dtype)
        if keys.shape[0] >= self.length:  # more keys than room: the newest ones win
            keys = keys[-self.length:]
        b = keys.shape[0]
        p = int(self.ptr)
        first = min(b, self.length - p)
        self.queue[p:p + first] = keys[:first]
        if b > first:  # wrap around
            self.queue[:b - first] = keys[first:]
        self.ptr[0] = (p + b) % self.length

    def forward(self):
        """The current keys, (length, dim), detached (a snapshot: safe to enqueue after use)."""
        return self.queue.clone().detach()

    def extra_repr(self):
        return f'length={self.length}, dim={self.dim}, gather={self.gather}'
