"""Model wrappers."""
from mmengine.model import MMDistributedDataParallel
from mmengine.registry import MODEL_WRAPPERS as MMENGINE_MODEL_WRAPPERS


@MMENGINE_MODEL_WRAPPERS.register_module()
class DeviceAwareDistributedDataParallel(MMDistributedDataParallel):
    """``MMDistributedDataParallel`` that also wraps CPU modules.

    mmengine always passes ``device_ids=[LOCAL_RANK]``, which torch's DDP rejects for a module on
    the CPU. This wrapper drops ``device_ids`` / ``output_device`` for CPU modules, so
    ``tools/dist_train.sh CONFIG 2`` trains with the gloo backend on a machine without GPUs and
    behaves exactly like the stock wrapper on GPUs. It is registered in mmengine's root registry
    because the runner looks wrappers up there.
    """

    def __init__(self, module, device_ids=None, **kwargs):
        params = list(module.parameters())
        if params and params[0].device.type == 'cpu':
            device_ids = None
            kwargs.pop('output_device', None)
        super().__init__(module=module, device_ids=device_ids, **kwargs)
