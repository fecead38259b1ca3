"""Supervision (督办): unit league, reply quality, overdue aging, dissatisfaction and good ideas.

Counts come from named SQL in queries/supervision.sql; the word rules in supervision/rules.py.
"""
