"""GGUF import on tiny checkpoints written as llama.cpp's converter writes them (tensor names from
the gguf package's own map, Llama/Mistral q/k rows permuted, Gemma norms stored as 1 + w, some
tensors quantized Q8_0): every family's import equals the original Hugging Face weights and
config, Llama's also equals transformers' own GGUF loading; bad files are refused by name and
leave no output folder behind."""

import json
import os

import numpy as np
import pytest

gguf = pytest.importorskip("gguf")
torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from itx.hf import config_map  # noqa: E402
from itx.hf.gguf_import import GGUFError, import_gguf  # noqa: E402

SHAPE = dict(vocab_size=300, hidden_size=64, intermediate_size=96, num_attention_heads=4, num_key_value_heads=2,
             head_dim=16, max_position_embeddings=256, rms_norm_eps=1e-6, bos_token_id=256, eos_token_id=256, pad_token_id=256)
FAMILIES = {  # name -> (gguf architecture, config class, extra config, layers)
    "llama": ("llama", transformers.LlamaConfig, {}, 2),
    "qwen2": ("qwen2", transformers.Qwen2Config, {}, 2),
    "qwen3": ("qwen3", transformers.Qwen3Config, {}, 2),
    "phi3": ("phi3", transformers.Phi3Config, {}, 2),
    "gemma2": ("gemma2", transformers.Gemma2Config, dict(query_pre_attn_scalar=256, sliding_window=32), 2),
    "gemma3": ("gemma3", transformers.Gemma3TextConfig, dict(sliding_window=32), 6),
}


def tiny_model(name):
  arch, cls, extra, layers = FAMILIES[name]
  cfg = cls(**SHAPE, **extra, num_hidden_layers=layers, tie_word_embeddings=name.startswith("gemma"))
  torch.manual_seed(0)
  model = transformers.AutoModelForCausalLM.from_config(cfg).float().eval()
  with torch.no_grad():
    for n, p in model.named_parameters():
      p.add_(torch.randn_like(p) * (0.3 if "norm" in n else 0.05))
  return model


def byte_vocabulary(size):
  from transformers.convert_slow_tokenizer import bytes_to_unicode
  merged = ["Ġt", "Ġa", "er", "in", "Ġth", "en"]
  tokens = list(bytes_to_unicode().values()) + ["<|endoftext|>"] + merged
  tokens += [f"<|unused{i}|>" for i in range(size - len(tokens))]
  types = [1] * 256 + [3] + [1] * len(merged) + [3] * (size - 257 - len(merged))  # control: 3
  return tokens, types, ["Ġ t", "Ġ a", "e r", "i n", "Ġt h", "e n"]


def llama_cpp_tensor(name, hf_name, w, cfg, arch):
  """What llama.cpp's converter stores for one Hugging Face tensor."""
  if arch == "llama" and hf_name.endswith(("q_proj.weight", "k_proj.weight")):
    heads = cfg.num_attention_heads if "q_proj" in hf_name else cfg.num_key_value_heads
    w = w.reshape(heads, 2, w.shape[0] // heads // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)
  if arch.startswith("gemma") and hf_name.endswith("norm.weight"):
    w = w + 1.0
  return w


def write_gguf(path, model, arch, *, tokenizer=True, quantize=("mlp.down_proj",), raw_type=None):
  cfg = model.config
  w = gguf.GGUFWriter(str(path), arch)
  w.add_name(f"tiny {arch}")
  w.add_context_length(cfg.max_position_embeddings)
  w.add_embedding_length(cfg.hidden_size)
  w.add_block_count(cfg.num_hidden_layers)
  w.add_feed_forward_length(cfg.intermediate_size)
  w.add_head_count(cfg.num_attention_heads)
  w.add_head_count_kv(cfg.num_key_value_heads)
  w.add_layer_norm_rms_eps(cfg.rms_norm_eps)
  w.add_key_length(cfg.head_dim)
  w.add_value_length(cfg.head_dim)
  w.add_rope_freq_base(cfg.rope_parameters["rope_theta"] if "rope_theta" in cfg.rope_parameters
                       else cfg.rope_parameters["full_attention"]["rope_theta"])
  if getattr(cfg, "sliding_window", None):
    w.add_sliding_window(cfg.sliding_window)
  if arch == "gemma2":
    w.add_attn_logit_softcapping(cfg.attn_logit_softcapping)
    w.add_final_logit_softcapping(cfg.final_logit_softcapping)
  if tokenizer:
    tokens, types, merges = byte_vocabulary(cfg.vocab_size)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("default")
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges(merges)
    w.add_bos_token_id(256)
    w.add_eos_token_id(256)
    w.add_pad_token_id(256)
  names = gguf.get_tensor_name_map(gguf.MODEL_ARCH[arch.upper()], cfg.num_hidden_layers)
  for hf_name, t in model.state_dict().items():
    if hf_name == "lm_head.weight" and cfg.tie_word_embeddings:
      continue
    base, _, suffix = hf_name.rpartition(".")
    name = f"{names.get_name(base)}.{suffix}"
    data = llama_cpp_tensor(name, hf_name, t.numpy().astype(np.float32), cfg, arch)
    if raw_type is not None and "down_proj" in hf_name:
      w.add_tensor(name, np.zeros((data.shape[0], 40 * data.shape[1] // 32), np.uint8), raw_dtype=raw_type)
    elif any(q in hf_name for q in quantize):
      w.add_tensor(name, gguf.quants.quantize(data, gguf.GGMLQuantizationType.Q8_0),
                   raw_dtype=gguf.GGMLQuantizationType.Q8_0)
    else:
      w.add_tensor(name, data)
  w.write_header_to_file()
  w.write_kv_data_to_file()
  w.write_tensors_to_file()
  w.close()
  return str(path)


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_import_equals_the_original_weights_and_config(tmp_path, name):
  from safetensors.numpy import load_file
  model = tiny_model(name)
  path = write_gguf(tmp_path / f"{name}.gguf", model, FAMILIES[name][0])
  out = import_gguf(path, str(tmp_path / "hf"), progress=False)
  ours = load_file(os.path.join(out, "model.safetensors"))
  expected = {k: v.numpy() for k, v in model.state_dict().items()
              if not (k == "lm_head.weight" and model.config.tie_word_embeddings)}
  assert sorted(ours) == sorted(expected)
  for k, w in expected.items():
    atol = 1e-2 * np.abs(w).max() if "down_proj" in k else 1e-6  # Q8_0 rounds to 1/127 of a block's max
    np.testing.assert_allclose(ours[k], w, rtol=0, atol=atol, err_msg=k)
  model.config.save_pretrained(tmp_path / "original")
  original = config_map.model_fields(config_map.read_config(str(tmp_path / "original")))
  assert config_map.model_fields(config_map.read_config(out)) == original


def test_llama_import_equals_transformers_gguf_loading(tmp_path):
  from safetensors.numpy import load_file
  path = write_gguf(tmp_path / "llama.gguf", tiny_model("llama"), "llama")
  out = import_gguf(path, str(tmp_path / "hf"), progress=False)
  ref = transformers.AutoModelForCausalLM.from_pretrained(str(tmp_path), gguf_file="llama.gguf", dtype=torch.float32)
  ours = load_file(os.path.join(out, "model.safetensors"))
  for k, w in ref.state_dict().items():
    np.testing.assert_allclose(ours[k], w.numpy(), rtol=0, atol=1e-6, err_msg=k)
  tok = transformers.AutoTokenizer.from_pretrained(out)
  ref_tok = transformers.AutoTokenizer.from_pretrained(str(tmp_path), gguf_file="llama.gguf")
  text = "Grüße aus Zürich, ça va? ¿Qué tal?"
  assert tok(text)["input_ids"] == ref_tok(text)["input_ids"]


def test_bfloat16_import_halves_the_weights(tmp_path):
  path = write_gguf(tmp_path / "q.gguf", tiny_model("qwen2"), "qwen2")
  full = import_gguf(path, str(tmp_path / "f32"), progress=False)
  half = import_gguf(path, str(tmp_path / "bf16"), dtype="bfloat16", progress=False)
  size = lambda d: os.path.getsize(os.path.join(d, "model.safetensors"))  # noqa: E731
  assert 0.45 < size(half) / size(full) < 0.55
  with open(os.path.join(half, "config.json")) as f:
    assert json.load(f)["dtype"] == "bfloat16"


def test_truncated_file_is_refused_and_leaves_no_folder(tmp_path):
  path = write_gguf(tmp_path / "t.gguf", tiny_model("llama"), "llama")
  data = open(path, "rb").read()
  cut = tmp_path / "cut.gguf"
  cut.write_bytes(data[:len(data) // 2])
  with pytest.raises(GGUFError, match="cut.gguf"):
    import_gguf(str(cut), str(tmp_path / "out"), progress=False)
  assert sorted(os.listdir(tmp_path)) == ["cut.gguf", "t.gguf"]


def test_unknown_tensor_type_is_refused_by_name(tmp_path):
  path = write_gguf(tmp_path / "t.gguf", tiny_model("llama"), "llama", raw_type=gguf.GGMLQuantizationType.Q8_1)
  with pytest.raises(GGUFError, match=r"blk\.0\.ffn_down\.weight.*Q8_1"):
    import_gguf(path, str(tmp_path / "out"), progress=False)
  assert not os.path.exists(tmp_path / "out")
  assert [p for p in os.listdir(tmp_path) if p != "t.gguf"] == []


def test_file_without_tokenizer_is_refused(tmp_path):
  path = write_gguf(tmp_path / "t.gguf", tiny_model("llama"), "llama", tokenizer=False)
  with pytest.raises(GGUFError, match="t.gguf: tokenizer.ggml.tokens is missing"):
    import_gguf(path, str(tmp_path / "out"), progress=False)


def test_unknown_architecture_is_refused_by_name(tmp_path):
  w = gguf.GGUFWriter(str(tmp_path / "m.gguf"), "mamba")
  w.add_tensor("token_embd.weight", np.zeros((4, 4), np.float32))
  w.write_header_to_file()
  w.write_kv_data_to_file()
  w.write_tensors_to_file()
  w.close()
  with pytest.raises(GGUFError, match="general.architecture='mamba'"):
    import_gguf(str(tmp_path / "m.gguf"), str(tmp_path / "out"), progress=False)
