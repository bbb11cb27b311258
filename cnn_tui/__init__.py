"""cnn-tui: design, train and analyse convolutional networks on MNIST in the terminal."""

__version__ = "0.1.0"
