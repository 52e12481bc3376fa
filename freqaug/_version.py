"""The package version, in a module of its own so that any layer (the bundle writer, the packaging
metadata) reads it without importing the package face."""

__version__ = "0.1.0"
