from .demo_world import CLASSES as DEMO_WORLD_CLASSES
from .demo_world import generate_demo_world
from .demo_world_datasets import DemoWorldDetDataset, DemoWorldSegDataset
from .frame_pair import FramePairDataset
from .sample_videos import export_sample_videos, sample_video_path
from .transforms import *  # noqa: F401,F403
from .transitive import TransitivePairDataset
from .video_io import FrameReadError

__all__ = ['DEMO_WORLD_CLASSES', 'generate_demo_world', 'DemoWorldSegDataset',
           'DemoWorldDetDataset', 'FramePairDataset', 'export_sample_videos',
           'sample_video_path', 'FrameReadError', 'TransitivePairDataset']
