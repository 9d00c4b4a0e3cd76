"""Platform adapters, one package each (console, replay, discord, slack), found by the core through the
``steward.adapters`` entry points. An adapter turns platform payloads into core events and performs core actions.
"""
