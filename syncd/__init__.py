"""syncd keeps OKR and KPI status current inside the tools a team already uses."""

__version__ = "0.1.0"  # the one source of the version (pyproject.toml reads it)

from pathlib import Path as _Path

# A source tree used as is (a checkout or an unpacked sdist on sys.path, as the tests' subprocesses
# and a non-editable install's test run have it): its connectors/, mappings/ and examples/ folders
# are syncd.connectors, syncd.mappings and syncd.examples, as in the wheel.
if (_Path(__file__).parent.parent / "connectors" / "__init__.py").is_file():
    __path__.append(str(_Path(__file__).parent.parent))  # noqa: F821 - a package's own __path__

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


def __getattr__(name: str):  # the engine pulls in evaluation: load it when asked for
    if name in ("sync", "SyncReport"):
        from . import engine

        return getattr(engine, name)
    raise AttributeError(name)
