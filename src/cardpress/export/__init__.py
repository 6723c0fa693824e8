"""Exporters: each a pure function of a deck and a path."""
