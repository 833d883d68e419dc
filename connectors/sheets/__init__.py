"""sheets connector."""

from .source import open, opener

__all__ = ["open", "opener"]
