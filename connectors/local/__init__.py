"""local connector."""

from .source import open

__all__ = ["open"]
