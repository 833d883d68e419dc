"""syncd keeps OKR and KPI status current inside the tools a team already uses."""

from .config import Config, ConfigError, load_config
from .model import KPI, Evaluation, KeyResult, Objective, Patch

__all__ = [
    "Config",
    "ConfigError",
    "Evaluation",
    "KPI",
    "KeyResult",
    "Objective",
    "Patch",
    "SyncReport",
    "load_config",
    "sync",
]
__version__ = "0.1.0"


def __getattr__(name: str):  # the engine pulls in evaluation: load it when asked for
    if name in ("sync", "SyncReport"):
        from . import engine

        return getattr(engine, name)
    raise AttributeError(name)
