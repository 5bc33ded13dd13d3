"""Model-side building blocks: dense contrast, queues, region pairs, shuffled BN.

Geometry shared with the data pipelines lives in :mod:`mmdense.structures`."""
