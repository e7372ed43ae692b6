"""The schema's history as Alembic migrations; `scanner.db.migrate` runs them.

A package so that the import rules (pyproject.toml, `[tool.importlinter]`) see what env.py
imports."""
