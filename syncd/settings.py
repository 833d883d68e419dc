"""The settings of evaluation (``EvalSettings``), apart so every evaluation module imports them one way.

``syncd.evaluate`` (which re-exports it), ``syncd.kpi_status`` and ``syncd.hygiene`` all depend
on this module; it depends on none of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from .cycles import Cycle, cycle_or_reason
from .model import OkrType

if TYPE_CHECKING:
    from .config import Config

__all__ = ["EvalSettings"]


@dataclass(frozen=True)
class EvalSettings:
    """The knobs of evaluation, from ``[syncd]``, ``[okr]`` and ``[kpi]`` of the config."""

    timezone: str = "UTC"
    fiscal_year_start: int = 1
    default_type: OkrType = "aspirational"
    aspirational_success: float = 0.7
    on_track_tolerance: float = 0.10
    at_risk_tolerance: float = 0.25
    max_objectives: int = 5
    max_key_results: int = 5
    stale_grace: timedelta = timedelta(days=1)
    check_in_days: float = 14
    red_days: float = 14
    company_sources: tuple[str, ...] = ()
    #: The OKR sources in the config's order: objectives over several sources are counted in it.
    okr_sources: tuple[str, ...] = ()

    @classmethod
    def from_config(cls, config: Config) -> EvalSettings:
        """Take the evaluation settings out of a :class:`syncd.config.Config`."""
        return cls(
            timezone=config.syncd.timezone,
            fiscal_year_start=config.syncd.fiscal_year_start,
            default_type=config.okr.default_type,
            aspirational_success=config.okr.aspirational_success,
            on_track_tolerance=config.okr.on_track_tolerance,
            at_risk_tolerance=config.okr.at_risk_tolerance,
            max_objectives=config.okr.max_objectives,
            max_key_results=config.okr.max_key_results,
            stale_grace=config.kpi.stale_grace,
            check_in_days=config.okr.check_in_days,
            red_days=config.kpi.red_days,
            company_sources=tuple(config.okr.company_sources),
            okr_sources=tuple(s.name for s in config.okrs),
        )

    def success(self, okr_type: str | None) -> float:
        """The grade that counts as success: 1.0 committed, 0.7 (configurable) aspirational."""
        return 1.0 if (okr_type or self.default_type) == "committed" else self.aspirational_success

    def cycle(self, text: str | None) -> Cycle | str:
        """The cycle named by ``text`` in these settings, or why it cannot be read."""
        return cycle_or_reason(text, fiscal_year_start=self.fiscal_year_start, tz=self.timezone)

    def local(self, moment: datetime) -> datetime:
        """A naive datetime is wall-clock time in the configured timezone."""
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=ZoneInfo(self.timezone))
