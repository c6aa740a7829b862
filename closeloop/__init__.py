"""Closeloop (闭环): the core. Every rule lives in this package."""

__version__ = "0.1.0"
