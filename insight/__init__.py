"""Insight methods over the messages' text: hot words, hot issues, surges, repeat complaints.

Data flows one way: named SQL (queries/insight.sql) -> corpus (words per message) -> one module per method ->
the service (insight/service.py), which owns the segmenter and the caches and is shared by API and screens.
"""
