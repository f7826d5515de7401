"""A tiny model on the built-in toy instructions: 30 steps, well under a minute on a CPU."""

from configs import base


def get_config():
  c = base.get_config()
  c.model.update(d_model=64, n_layers=2, n_heads=4, n_kv_heads=2, mlp_dim=128)
  c.data.seq_len = 128
  c.train.update(steps=30, batch_size=16, learning_rate=3e-3, warmup_steps=5)
  c.checkpoint.every_steps = 15
  c.log.every_steps = 5
  return c
