"""The ``[console]`` section: the embedded terminal chat used when no platform token is configured."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ConsoleSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    user: str = Field(default="you", min_length=1, description="Your name in the console chat")
    server: str = Field(default="console", min_length=1, description="The server id console rooms belong to")
    room: str = Field(default="general", min_length=1, description="The room you start in")
    log_file: str = Field(
        default="steward.log",
        description="Where logs go while the console chat has the terminal (relative to the database's folder)",
    )
