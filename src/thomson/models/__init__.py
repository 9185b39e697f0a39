"""Reference networks of the papers (CIFAR, MNIST-1D) and small models, and a builder by name."""

from thomson.models.cnn9 import CNN9
from thomson.models.mlp import MLP
from thomson.models.mnist1d import CNN1D, MLP1D
from thomson.models.registry import MODELS, build_model
from thomson.models.resnet import ResNet, ResNet18

__all__ = ["CNN1D", "CNN9", "MLP", "MLP1D", "MODELS", "ResNet", "ResNet18", "build_model"]
