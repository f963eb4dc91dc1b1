"""Renderers: the terminal (rich) view and the HTML report."""
