"""Reports: modeling-error metrics and self-contained Markdown + HTML documents with figures."""

from imcflow.report.document import Document, Figure, Table
from imcflow.report.metrics import spike_time_errors

__all__ = ["Document", "Figure", "Table", "spike_time_errors"]
