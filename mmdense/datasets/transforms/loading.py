"""mmcv's ``LoadImageFromFile`` with the checks of :func:`mmdense.datasets.video_io.read_image`.

Registered in the mmdense scope under mmcv's name, so every mmdense config that loads images
(``default_scope='mmdense'``) gets it: an empty, cut-short (PNG without ``IEND``, JPEG without its
end-of-image marker -- OpenCV decodes those as half-grey pictures) or undecodable image stops
with :class:`~mmdense.datasets.video_io.FrameReadError` naming the file and the fix.
"""
import mmcv
import numpy as np
from mmcv.transforms import LoadImageFromFile as _MMCVLoadImageFromFile
from mmengine import fileio

from mmdense.registry import TRANSFORMS
from ..video_io import FrameReadError, check_image_bytes


@TRANSFORMS.register_module(name='LoadImageFromFile')
class CheckedLoadImageFromFile(_MMCVLoadImageFromFile):
    """Same arguments and results as mmcv's; ``ignore_empty=True`` skips a bad image (returns
    None) as mmcv does for unreadable ones."""

    def transform(self, results):
        filename = results['img_path']
        try:
            try:
                if self.file_client_args is not None:
                    client = fileio.FileClient.infer_client(self.file_client_args, filename)
                    img_bytes = client.get(filename)
                else:
                    img_bytes = fileio.get(filename, backend_args=self.backend_args)
            except OSError as e:
                raise FrameReadError(f'cannot read image {filename} ({e.strerror or e}): '
                                     'restore the file or remove it from the dataset') from None
            check_image_bytes(img_bytes, filename)
            img = mmcv.imfrombytes(img_bytes, flag=self.color_type,
                                   backend=self.imdecode_backend)
            if img is None:
                raise FrameReadError(f'cannot decode image {filename} (corrupt, or a format '
                                     'the decoder lacks): restore the file or remove it from '
                                     'the dataset')
        except FrameReadError:
            if self.ignore_empty:
                return None
            raise
        if self.to_float32:
            img = img.astype(np.float32)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results
