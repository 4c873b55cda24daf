"""Operator processes: the worker, migrations, backup, the demo sandbox, operator transactions."""
