"""TinyML hardware-in-the-loop test and benchmarking harness."""

__version__ = "0.1.0"
