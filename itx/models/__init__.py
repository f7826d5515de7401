"""The network: a decoder-only LM as a pure linen module, and the families it maps."""

from itx.models.config import ModelConfig
from itx.models.decoder import DecoderLM, init_cache
from itx.models.families import FAMILIES, UnsupportedCheckpoint, network

__all__ = ["FAMILIES", "DecoderLM", "ModelConfig", "UnsupportedCheckpoint", "init_cache", "network"]
