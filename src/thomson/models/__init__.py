"""Reference networks of the papers and small models, and a builder by name."""

from thomson.models.cnn9 import CNN9
from thomson.models.mlp import MLP
from thomson.models.registry import MODELS, build_model
from thomson.models.resnet import ResNet, ResNet18

__all__ = ["CNN9", "MLP", "MODELS", "ResNet", "ResNet18", "build_model"]
