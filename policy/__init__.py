"""Pure decisions and their value types: moderation rules, rate limits, thresholds, invitation policy, feedback and
conversation signals. No I/O and no asyncio; depends only on ``domain/``.
"""
