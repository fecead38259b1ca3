"""Analyst workspace (route /analyst): filters, drill-down, compare, downloads."""
