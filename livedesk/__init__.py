"""livedesk: a self-hosted live-updates news desk."""

__version__ = "0.1.0"
