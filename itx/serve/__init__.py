"""Serving a trained model behind an OpenAI-compatible HTTP API."""
