"""Persistence: tables, the state machine's data, the repository, migrations and secret sealing."""
