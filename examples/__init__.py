"""The bundled demo, installed as ``syncd.examples``: data only (``syncd demo`` and ``syncd init`` copy it).

``syncd.toml`` is the commented configuration; ``kpis.csv`` and ``okrs.csv`` are a 50-person company's
KPIs and OKRs, with a few bad cells, as they stood on 2026-11-15 (see :mod:`syncd.starter`).
"""
