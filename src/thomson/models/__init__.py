"""Reference networks of the papers."""

from thomson.models.cnn9 import CNN9

__all__ = ["CNN9"]
