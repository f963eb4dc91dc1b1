"""Renderers: the terminal (rich) view and the HTML report."""

from autodl.report.html import ReportRefresher, render_report, write_report

__all__ = ["ReportRefresher", "render_report", "write_report"]
