from .raft import RAFTFlow, princeton_to_torchvision, torchvision_to_princeton

__all__ = ['RAFTFlow', 'princeton_to_torchvision', 'torchvision_to_princeton']
