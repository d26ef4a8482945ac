"""jaxml: correct, fast, pure-functional JAX implementations of machine-learning techniques.

Importing jaxml changes nothing in the process (no XLA flags); the `jaxml` command applies its XLA
workarounds itself (`jaxml.core.platform.apply_xla_workarounds`).
"""

__version__ = "0.1.0"
