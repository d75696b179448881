"""The several-processes tests, each on a database of its own from tests/conftest.py (their figures are printed
by tests/reporting.py)."""
