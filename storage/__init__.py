"""Durable state: one SQLite file (aiosqlite, WAL), each component with its own numbered migrations, and the
repositories that keep SQL out of the cogs. Depends only on ``policy/`` and ``domain/``.
"""
