"""Data sets held in memory: digits (default, bundled), CIFAR-10/100 (from the user's archive), synthetic,
MNIST-1D (generated)."""

from thomson.data.augment import pixels_to_inputs, random_crop_flip
from thomson.data.cifar import CifarFormatError, load_cifar
from thomson.data.dataset import Dataset
from thomson.data.digits import load_digits
from thomson.data.mnist1d import load_mnist1d
from thomson.data.order import BatchOrder
from thomson.data.registry import DATASETS, load_dataset
from thomson.data.subset import stratified_subset
from thomson.data.synthetic import load_synthetic

__all__ = [
    "DATASETS",
    "BatchOrder",
    "CifarFormatError",
    "Dataset",
    "load_cifar",
    "load_dataset",
    "load_digits",
    "load_mnist1d",
    "load_synthetic",
    "pixels_to_inputs",
    "random_crop_flip",
    "stratified_subset",
]
