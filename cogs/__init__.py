"""The cogs that ship with Steward, one package each, found by the core through the ``steward.cogs`` entry
points. A cog listens to core events, offers and uses services by type, and returns actions; no cog imports another.
"""
