"""Serving trained runs: an OpenAI-compatible API with continuous batching and streaming (engine,
kernels, app, streams, registry) and the side-by-side comparison page (static/)."""
