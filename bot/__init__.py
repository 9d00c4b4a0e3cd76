"""The core runtime: events and actions, the bus, cogs and their typed context, plug-in discovery, config, the
agent publisher and its gates, cases and suspensions, the scheduler, the app that wires it all, HTTP and the CLI.

It depends on ``storage/``, ``policy/`` and ``domain/``; adapters and cogs depend on it, never the reverse.
"""
