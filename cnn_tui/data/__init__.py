"""MNIST for cnn-tui: find, verify, load (mnist.py), fetch (fetch.py), import (imports.py).

Importing this package costs nothing heavy: numpy is imported inside the functions that need it.
"""

from cnn_tui.data.mnist import FILES, MnistArrays, find_mnist, load_arrays, raw_dir, verify

__all__ = ["FILES", "MnistArrays", "find_mnist", "load_arrays", "raw_dir", "verify"]
