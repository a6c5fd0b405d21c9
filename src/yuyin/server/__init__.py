"""The HTTP server: an OpenAI-compatible speech API built with FastAPI."""

from yuyin.server.app import create_app

__all__ = ["create_app"]
