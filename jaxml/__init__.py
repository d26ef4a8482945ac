"""jaxml: correct, fast, pure-functional JAX implementations of machine-learning techniques."""

__version__ = "0.1.0"
