"""Flax Linen modules: architecture only (no losses, no optimizers)."""

from jaxml.models.cnn import CNN
from jaxml.models.mlp import MLP
from jaxml.models.quant import QuantCNN, QuantMLP
from jaxml.models.resnet import ResNet

MODELS = {"mlp": MLP, "cnn": CNN, "resnet": ResNet, "qmlp": QuantMLP, "qcnn": QuantCNN}

__all__ = ["CNN", "MLP", "ResNet", "QuantCNN", "QuantMLP", "MODELS"]
