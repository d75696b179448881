"""Operator commands: check, export, maintenance and the self-contained demo."""
