"""Hugging Face checkpoints in and out: config mapping, safetensors weights, export."""
