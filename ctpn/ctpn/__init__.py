"""CTPN text-line detection. Importing the package does not import TensorFlow."""

__version__ = "0.1.0"
