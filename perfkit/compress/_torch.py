"""torch engine: dynamic int8 Linear layers on FBGEMM, saved as plain int8 tensors."""

from __future__ import annotations

import copy
import json
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from perfkit._atomic import atomic_open, atomic_write_text
from perfkit.errors import InputFileError, MissingDependencyError, UsageError

try:
    import torch
    from torch import nn
except ImportError as exc:  # pragma: no cover
    raise MissingDependencyError("torch", "ml", "torch quantization") from exc

QUANT_FILE = "quantization.json"


class Int8DynamicLinear(nn.Module):
    """A Linear with int8 weights (per-channel or per-tensor scales) and dynamic int8 activations.

    The state dict holds only plain tensors (``weight_int8``, ``weight_scale``, ``bias``), so a
    saved model loads with ``torch.load(weights_only=True)``. The FBGEMM packed weight is built
    lazily from them. FBGEMM's packed-weight API takes a quantized tensor, whose creation torch
    2.13 flags as deprecated; that warning concerns torch's tensor type, is contained here, and is
    why perfkit keeps the weights as plain int8 tensors rather than quantized ones.
    """

    def __init__(self, in_features: int, out_features: int, per_channel: bool = True) -> None:
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.per_channel = per_channel
        self.register_buffer(
            "weight_int8", torch.zeros(out_features, in_features, dtype=torch.int8)
        )
        self.register_buffer("weight_scale", torch.ones(out_features if per_channel else 1))
        self.register_buffer("bias", torch.zeros(out_features))
        self._packed: Any = None

    @classmethod
    def from_float(cls, linear: nn.Linear, per_channel: bool = True) -> Int8DynamicLinear:
        """Symmetric int8 weights of ``linear`` (scale = max |w| / 127 per row or tensor)."""
        w = linear.weight.detach().float()
        amax = w.abs().amax(dim=1) if per_channel else w.abs().amax().reshape(1)
        scale = (amax / 127.0).clamp(min=1e-12)
        q = torch.round(w / (scale[:, None] if per_channel else scale)).clamp(-127, 127)
        out = cls(linear.in_features, linear.out_features, per_channel)
        out.weight_int8.copy_(q.to(torch.int8))
        out.weight_scale.copy_(scale)
        if linear.bias is not None:
            out.bias.copy_(linear.bias.detach().float())
        return out

    def _load_from_state_dict(self, *args: Any, **kwargs: Any) -> None:
        self._packed = None
        super()._load_from_state_dict(*args, **kwargs)

    def _pack(self) -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if self.per_channel:
                qw = torch._make_per_channel_quantized_tensor(
                    self.weight_int8,
                    self.weight_scale.double(),
                    torch.zeros(self.out_features, dtype=torch.long),
                    0,
                )
            else:
                qw = torch._make_per_tensor_quantized_tensor(
                    self.weight_int8, float(self.weight_scale[0]), 0
                )
            return torch.ops.quantized.linear_prepack(qw, self.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self._packed is None:
            self._packed = self._pack()
        shape = x.shape
        # reduce_range=True: 7-bit activations avoid int16 overflow in AVX2's vpmaddubsw.
        y = torch.ops.quantized.linear_dynamic(
            x.reshape(-1, shape[-1]).float().contiguous(), self._packed, True
        )
        return y.reshape(*shape[:-1], self.out_features)

    def extra_repr(self) -> str:
        return f"{self.in_features}, {self.out_features}, int8 per_channel={self.per_channel}"


def _set_module(root: nn.Module, name: str, new: nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    parent = root.get_submodule(parent_name) if parent_name else root
    setattr(parent, child, new)


def quantize_layers(model: nn.Module, layers: Sequence[str], per_channel: bool) -> nn.Module:
    """A copy of ``model`` whose named ``nn.Linear`` layers are :class:`Int8DynamicLinear`."""
    out = copy.deepcopy(model).eval()
    for name in layers:
        mod = out.get_submodule(name)
        if not isinstance(mod, nn.Linear):
            raise UsageError(
                f"layer {name!r} is a {type(mod).__name__}, which the torch engine cannot quantize",
                "only nn.Linear layers get int8 weights; exclude it or use engine='onnxruntime'",
            )
        _set_module(out, name, Int8DynamicLinear.from_float(mod, per_channel))
    return out


@dataclass
class TorchQuantModel:
    """A torch module with some Linear layers in int8; callable on named NumPy inputs."""

    module: nn.Module
    quantized_layers: tuple[str, ...]
    float_layers: tuple[str, ...]
    per_channel: bool = True
    engine: str = "torch"
    method: str = "dynamic-int8"
    fallback: Any = None
    notes: list[str] = field(default_factory=list)

    @property
    def task(self) -> str:
        return getattr(self.module, "task", "embedding")

    @property
    def input_names(self) -> tuple[str, ...]:
        from perfkit.compress.models import input_names

        return input_names(self.module)

    def __call__(self, inputs: Mapping[str, np.ndarray]) -> np.ndarray:
        from perfkit.compress.models import predict

        return predict(self.module, inputs, batch_size=1 << 30)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write ``config.json``, ``model.pt`` (plain tensors) and ``quantization.json``."""
        from perfkit.compress.models import model_config

        directory = Path(path)
        cfg = model_config(self.module)
        state = {k: v.detach().cpu().contiguous() for k, v in self.module.state_dict().items()}
        with atomic_open(directory / "model.pt", "wb") as fh:
            torch.save(state, fh)
        meta = {
            "engine": self.engine,
            "method": self.method,
            "per_channel": self.per_channel,
            "quantized_layers": list(self.quantized_layers),
            "float_layers": list(self.float_layers),
        }
        atomic_write_text(directory / QUANT_FILE, json.dumps(meta, indent=2))
        atomic_write_text(directory / "config.json", json.dumps(cfg, indent=2, default=str))
        return directory

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> TorchQuantModel:
        """Rebuild the architecture, swap in int8 layers, load the plain-tensor state dict."""
        from perfkit.compress.models import build_from_config, load_state_dict

        directory = Path(path)
        try:
            meta = json.loads((directory / QUANT_FILE).read_text(encoding="utf-8"))
            cfg = json.loads((directory / "config.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InputFileError(
                f"{directory} is not a saved torch int8 model ({exc})",
                "save it with TorchQuantModel.save",
            ) from None
        module = quantize_layers(
            build_from_config(cfg), meta["quantized_layers"], meta["per_channel"]
        )
        try:
            module.load_state_dict(load_state_dict(directory / "model.pt"))
        except RuntimeError as exc:
            raise InputFileError(
                f"{directory / 'model.pt'} does not match its config: {str(exc).splitlines()[0]}",
                "save config and weights together",
            ) from None
        return cls(
            module.eval(),
            tuple(meta["quantized_layers"]),
            tuple(meta["float_layers"]),
            meta["per_channel"],
            method=meta.get("method", "dynamic-int8"),
        )

    def size_bytes(self) -> int:
        return int(sum(t.numel() * t.element_size() for t in self.module.state_dict().values()))

    def num_parameters(self) -> int:
        return int(sum(t.numel() for t in self.module.state_dict().values()))


@dataclass
class _Prepared:
    model: nn.Module
    per_channel: bool
    linears: list[str]

    @property
    def input_names(self) -> tuple[str, ...]:
        from perfkit.compress.models import input_names

        return input_names(self.model)


class TorchEngine:
    """Dynamic int8 Linear layers with FBGEMM kernels; no static path on torch 2.13."""

    name: ClassVar[str] = "torch"
    supports_dynamic: ClassVar[bool] = True
    supports_static: ClassVar[bool] = False

    def prepare(
        self,
        model: Any,
        example_inputs: Mapping[str, np.ndarray] | None,
        *,
        mode: str,
        calibration: Any,
        method: str,
        per_channel: bool,
    ) -> _Prepared:
        if not isinstance(model, nn.Module):
            raise UsageError(
                f"the torch engine quantizes torch modules, got {type(model).__name__}",
                "use engine='onnxruntime' for ONNX models",
            )
        if "x86" not in torch.backends.quantized.supported_engines and (
            "fbgemm" not in torch.backends.quantized.supported_engines
        ):
            raise UsageError(
                "this torch build has no FBGEMM/x86 quantized kernels",
                "use engine='onnxruntime'",
            )
        linears = [n for n, m in model.named_modules() if isinstance(m, nn.Linear)]
        if not linears:
            kinds = sorted({type(m).__name__ for m in model.modules()} - {type(model).__name__})
            raise UsageError(
                f"nothing to quantize: {type(model).__name__} has no nn.Linear layer "
                f"(it has {', '.join(kinds[:10]) or 'no submodules'})",
                "the torch engine quantizes nn.Linear only; try engine='onnxruntime'",
            )
        return _Prepared(model, per_channel, linears)

    def layers(self, prepared: _Prepared) -> list[str]:
        return list(prepared.linears)

    def build(self, prepared: _Prepared, layers: Sequence[str]) -> TorchQuantModel:
        module = quantize_layers(prepared.model, layers, prepared.per_channel)
        chosen = set(layers)
        return TorchQuantModel(
            module,
            tuple(n for n in prepared.linears if n in chosen),
            tuple(n for n in prepared.linears if n not in chosen),
            prepared.per_channel,
        )
