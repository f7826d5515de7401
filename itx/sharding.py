"""The device mesh, logical-axis rules and the multi-host start.

Layers name logical axes; `config.mesh.rules` (one table) maps each onto mesh axes. This is the only
place that turns those names into `NamedSharding`s.
"""

from __future__ import annotations

import logging

import flax.linen as nn
import jax
import numpy as np
from jax.sharding import AxisType, Mesh, NamedSharding, PartitionSpec

MESH_AXES = ("data", "fsdp", "tensor")


def maybe_initialize_distributed(mesh_cfg) -> None:
  """Starts JAX's multi-host runtime when the config asks for it (TPU pods, GPU clusters).

  With empty fields, `jax.distributed.initialize()` discovers the cluster itself (TPU metadata,
  SLURM, Open MPI); the fields are for clusters it cannot discover. On CPU, collectives across
  processes need gloo (set here unless JAX_CPU_COLLECTIVES_IMPLEMENTATION chose another).
  """
  if not mesh_cfg.distributed:
    return
  if jax.config.jax_cpu_collectives_implementation in (None, "", "none"):
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
  kwargs = {}
  if mesh_cfg.coordinator_address:
    kwargs = dict(coordinator_address=mesh_cfg.coordinator_address,
                  num_processes=mesh_cfg.num_processes, process_id=mesh_cfg.process_id)
  jax.distributed.initialize(**kwargs)
  logging.info("jax.distributed: process %d of %d", jax.process_index(), jax.process_count())


def mesh_shape(mesh_cfg, num_devices: int) -> tuple[int, int, int]:
  """Resolves (data, fsdp, tensor); at most one of them may be -1 ("the rest of the devices")."""
  sizes = [int(mesh_cfg[a]) for a in MESH_AXES]
  if sizes.count(-1) > 1:
    raise ValueError(f"mesh: at most one of {MESH_AXES} may be -1, got {dict(zip(MESH_AXES, sizes))}")
  known = int(np.prod([s for s in sizes if s != -1]))
  if -1 in sizes:
    if num_devices % known:
      raise ValueError(f"mesh: {num_devices} devices are not divisible by {dict(zip(MESH_AXES, sizes))}")
    sizes[sizes.index(-1)] = num_devices // known
  if int(np.prod(sizes)) != num_devices:
    raise ValueError(f"mesh: {dict(zip(MESH_AXES, sizes))} needs {int(np.prod(sizes))} devices, "
                     f"but {num_devices} are available")
  return tuple(sizes)


def make_mesh(mesh_cfg, devices=None) -> Mesh:
  devices = jax.devices() if devices is None else devices
  shape = mesh_shape(mesh_cfg, len(devices))
  # Linen's logical constraints need Auto axes (jax.make_mesh defaults to Explicit).
  return jax.make_mesh(shape, MESH_AXES, axis_types=(AxisType.Auto,) * len(MESH_AXES), devices=devices)


def rules_from_config(mesh_cfg) -> tuple[tuple[str, object], ...]:
  """The logical-axis rules as a tuple of (logical name, mesh axis | tuple of axes | None)."""
  out = []
  for name, target in mesh_cfg.rules:
    if isinstance(target, list):
      target = tuple(target)
    out.append((name, target))
  return tuple(out)


def batch_sharding(mesh: Mesh, rules, ndim: int = 2) -> NamedSharding:
  """Sharding of a [batch, length, ...] input array."""
  spec = nn.logical_to_mesh_axes(("activation_batch",) + (None,) * (ndim - 1), rules)
  return NamedSharding(mesh, spec)


def replicated(mesh: Mesh) -> NamedSharding:
  return NamedSharding(mesh, PartitionSpec())
