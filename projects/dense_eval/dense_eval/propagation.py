"""Label propagation through a video by nearest neighbours in feature space (the protocol of
TimeCycle / CRW (Jabri et al. 2020), used by VADeR Table 2).

Frame ``t``'s labels are a weighted vote of the labels of context frames (the first frame with
its given masks and the ``n_context`` previous frames with their predictions): each query pixel
attends to context pixels within ``radius`` feature cells, keeps its ``topk`` most similar ones
and averages their label distributions with ``softmax(sim / temperature)`` weights.
"""
import torch
import torch.nn.functional as F


def _window_mask(h, w, radius, device):
    ys, xs = torch.meshgrid(torch.arange(h, device=device), torch.arange(w, device=device),
                            indexing='ij')
    pos = torch.stack([ys.flatten(), xs.flatten()], 1).float()
    return torch.cdist(pos, pos, p=float('inf')) <= radius  # (hw, hw), Chebyshev distance


def one_hot_labels(label_map, num_labels, size):
    """(H, W) int label map -> (num_labels, h, w) soft labels at feature size (area pooling)."""
    oh = F.one_hot(torch.as_tensor(label_map).long().clamp(0, num_labels - 1), num_labels)
    oh = oh.permute(2, 0, 1)[None].float()
    return F.adaptive_avg_pool2d(oh, size)[0]


@torch.no_grad()
def propagate_labels(feats, first_labels, num_labels, n_context=20, topk=10, radius=12,
                     temperature=0.07, out_size=None):
    """Propagate the first frame's labels through a video.

    Args:
        feats (Tensor): (T, C, h, w) features of the frames (normalised here).
        first_labels (ndarray | Tensor): (H, W) int labels of frame 0 (0 = background).
        num_labels (int): number of labels (max id + 1).
        n_context (int): previous frames used as context (besides frame 0).
        topk (int): neighbours kept per query pixel.
        radius (float): spatial window in feature cells (inf: the whole frame).
        temperature (float): softmax temperature of the similarities.
        out_size (tuple, optional): (H, W) of the returned label maps; default the first map's.

    Returns:
        Tensor: (T, H, W) long predicted labels (frame 0 = the given labels).
    """
    t_len, _, h, w = feats.shape
    feats = F.normalize(feats.flatten(2), dim=1).transpose(1, 2)  # (T, hw, C)
    first = torch.as_tensor(first_labels)
    out_size = out_size or tuple(first.shape)
    probs = [one_hot_labels(first, num_labels, (h, w)).flatten(1).t()]  # (hw, L)
    window = _window_mask(h, w, radius, feats.device)
    preds = [first.long()]
    for t in range(1, t_len):
        ctx_ids = [0] + list(range(max(1, t - n_context), t))
        ctx_f = torch.cat([feats[i] for i in ctx_ids])  # (K*hw, C)
        ctx_p = torch.cat([probs[i] for i in ctx_ids])  # (K*hw, L)
        sim = feats[t] @ ctx_f.t()  # (hw, K*hw)
        sim = sim.masked_fill(~window.repeat(1, len(ctx_ids)), float('-inf'))
        k = min(topk, sim.shape[1])
        val, idx = sim.topk(k, dim=1)
        weight = torch.softmax(val / temperature, dim=1)
        p = (weight[..., None] * ctx_p[idx]).sum(1)  # (hw, L)
        probs.append(p)
        up = F.interpolate(p.t().reshape(1, num_labels, h, w), size=out_size, mode='bilinear',
                           align_corners=False)
        preds.append(up[0].argmax(0))
    return torch.stack(preds)
