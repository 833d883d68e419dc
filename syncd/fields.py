"""The model fields each source type maps, with the names they have in a source by default.

Config validation checks a source's ``columns``/``properties``/``fields`` against these and the
mappings read and write by them: both sides use one list, kept in the core.
"""

from __future__ import annotations

__all__ = ["KPI_COLUMNS", "OKR_COLUMNS", "NOTION_OKR_NAMES", "NOTION_KPI_NAMES", "TRELLO_NAMES"]

#: Table sources (CSV, XLSX, Sheets): model field -> default column header.
KPI_COLUMNS = {
    "id": "ID",
    "name": "KPI",
    "value": "Value",
    "unit": "Unit",
    "direction": "Direction",
    "green": "Green",
    "red": "Red",
    "owner": "Owner",
    "cadence": "Cadence",
    "updated": "Updated",
    "status": "Status",
}
#: Table sources: model field -> default column header (key results and objectives).
OKR_COLUMNS = {
    "id": "ID",
    "objective": "Objective",
    "title": "Key result",
    "kind": "Kind",
    "start": "Start",
    "target": "Target",
    "current": "Current",
    "kpi": "KPI",
    "weight": "Weight",
    "owner": "Owner",
    "cycle": "Cycle",
    "type": "Type",
    "parent": "Parent",
    "progress": "Progress",
    "status": "Status",
    "objective_score": "Objective score",
    "objective_status": "Objective status",
}

#: model field = default property name (a database may have only some of them).
NOTION_OKR_NAMES = {
    "title": "Name", "objective": "Objective", "kind": "Kind", "start": "Start", "target": "Target",
    "current": "Current", "kpi": "KPI", "weight": "Weight", "owner": "Owner", "cycle": "Cycle",
    "type": "Type", "progress": "Progress", "status": "Status", "score": "Score", "unit": "Unit",
    "parent": "Parent", "row_type": "Type",
}  # fmt: skip
NOTION_KPI_NAMES = {
    "name": "Name", "value": "Value", "unit": "Unit", "direction": "Direction", "green": "Green",
    "red": "Red", "owner": "Owner", "cadence": "Cadence", "updated": "Updated", "status": "Status",
}  # fmt: skip

#: model field -> name on the board (custom field or label).
TRELLO_NAMES: dict[str, str] = {
    "objective": "Objective",  # label marking an objective's own card
    "score": "Score",
    "cycle": "Cycle",
    "type": "Type",
    "parent": "Parent",  # text field on the objective's card: the parent objective's id or title
    "start": "Start",
    "target": "Target",
    "current": "Current",
    "kpi": "KPI",
    "weight": "Weight",
    "unit": "Unit",
    "progress": "Progress",
    "on_track": "On track",
    "at_risk": "At risk",
    "off_track": "Off track",
    "done": "Done",
}
