"""Flax Linen modules: architecture only (no losses, no optimizers)."""

from jaxml.models.cnn import CNN
from jaxml.models.mlp import MLP
from jaxml.models.resnet import ResNet

MODELS = {"mlp": MLP, "cnn": CNN, "resnet": ResNet}

__all__ = ["CNN", "MLP", "ResNet", "MODELS"]
