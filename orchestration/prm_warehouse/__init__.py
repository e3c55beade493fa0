"""prm-warehouse: partner-portal exports to per-person and per-firm KPI marts."""

__version__ = "0.1.0"
