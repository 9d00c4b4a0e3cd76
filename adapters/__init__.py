"""Platform adapters: each package turns one platform's payloads into core events and performs core actions there.

``console`` (the embedded default), ``replay`` (JSONL transcripts), ``discord`` and ``slack``. Each exposes
``<package>.factory.create_adapter(settings)``; no adapter imports another.
"""
