"""Records, chat rendering, tokenization, packing and the grain pipeline."""
