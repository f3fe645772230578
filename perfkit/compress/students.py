"""``student_from_teacher``: a shallower copy of an encoder, initialised from teacher layers."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from perfkit.errors import UsageError

#: Where the layer stack lives in the architectures perfkit knows (module path suffixes).
LAYER_PATHS: tuple[str, ...] = (
    "encoder.layer",  # BERT, RoBERTa, MiniLM
    "encoder.layers",  # wav2vec2, HuBERT
    "transformer.layer",  # DistilBERT
    "layers",  # perfkit's MLPClassifier, many custom models
    "layer",
    "blocks",
    "h",  # GPT-2
)


def find_layers(model: Any, path: str | None = None) -> tuple[str, Any]:
    """The dotted name and ``nn.ModuleList`` holding ``model``'s stack of layers.

    Raises
    ------
    UsageError
        No ModuleList at ``path`` (or at any known path), naming what was looked for.
    """
    from torch import nn

    modules = dict(model.named_modules())
    if path is not None:
        found = modules.get(path)
        if not isinstance(found, nn.ModuleList):
            lists = [n for n, m in modules.items() if isinstance(m, nn.ModuleList)]
            raise UsageError(
                f"{type(model).__name__} has no nn.ModuleList at {path!r}",
                f"its ModuleLists are: {', '.join(lists) or 'none'}",
            )
        return path, found
    for suffix in LAYER_PATHS:
        for name, mod in modules.items():
            if isinstance(mod, nn.ModuleList) and (name == suffix or name.endswith("." + suffix)):
                return name, mod
    raise UsageError(
        f"cannot cut {type(model).__name__}: found no layer stack (an nn.ModuleList named "
        f"{', '.join(repr(p) for p in LAYER_PATHS)})",
        "pass layers_path='dotted.name.of.the.ModuleList'",
    )


def _resolve_keep(keep: str | Sequence[int], n: int) -> list[int]:
    if isinstance(keep, str):
        if keep != "alternate":
            raise UsageError(f"unknown keep={keep!r}", "use 'alternate' or a list of layer indices")
        # DistilBERT: one layer out of two, counted from the top so the last layer (whose output
        # the student must imitate) is always kept.
        return sorted(range(n - 1, -1, -2))
    idx = [int(i) for i in keep]
    if not idx:
        raise UsageError("keep is empty", f"keep at least one of the teacher's {n} layers")
    bad = [i for i in idx if not 0 <= i < n]
    if bad:
        raise UsageError(
            f"keep={idx} has layers out of range {bad}: the teacher has {n} layers (0..{n - 1})",
            f"choose indices between 0 and {n - 1}",
        )
    if len(set(idx)) != len(idx):
        raise UsageError(f"keep={idx} repeats a layer", "list each teacher layer at most once")
    return sorted(idx)


def student_from_teacher(
    teacher: Any, keep: str | Sequence[int] = "alternate", *, layers_path: str | None = None
) -> Any:
    """A copy of ``teacher`` with only the ``keep`` layers, their weights copied (DistilBERT init).

    Embeddings, heads and everything outside the layer stack are copied unchanged; the teacher is
    not modified. Hugging Face configs (``num_hidden_layers``) are updated to match.

    Parameters
    ----------
    teacher
        A torch module with its layers in one ``nn.ModuleList`` (BERT-like ``encoder.layer``,
        wav2vec2-like ``encoder.layers``, or any list named by ``layers_path``).
    keep
        ``"alternate"`` (every other layer, ending at the last) or explicit layer indices.
    layers_path
        Dotted name of the ModuleList when it is not at a known place.

    Returns
    -------
    torch.nn.Module
        The student, in eval mode, with ``student.kept_layers`` recording the teacher indices.

    Raises
    ------
    UsageError
        No layer stack found, or ``keep`` out of range, empty or repeated.
    """
    from torch import nn

    path, layers = find_layers(teacher, layers_path)
    idx = _resolve_keep(keep, len(layers))
    student = copy.deepcopy(teacher)
    parent_name, _, attr = path.rpartition(".")
    parent = student.get_submodule(parent_name) if parent_name else student
    old = getattr(parent, attr)
    setattr(parent, attr, nn.ModuleList(old[i] for i in idx))
    for mod in student.modules():
        cfg = getattr(mod, "config", None)
        if cfg is not None and hasattr(cfg, "num_hidden_layers"):
            cfg.num_hidden_layers = len(idx)
    # transformers' layers carry their position for caches; renumber them for the new stack.
    for new_i, layer in enumerate(getattr(parent, attr)):
        for sub in layer.modules():
            if hasattr(sub, "layer_idx") and isinstance(sub.layer_idx, int):
                sub.layer_idx = new_i
    arch = getattr(student, "arch", None)
    if isinstance(arch, dict) and arch.get("arch") == "mlp":
        # Keep the saved config true to the cut model so save_model/load_model round-trip it.
        widths = [student.stem.out_features] + [blk[0].out_features for blk in student.layers]
        student.arch = {**arch, "hidden": widths}
    student.kept_layers = tuple(idx)
    return student.eval()


#: Where a layer's feed-forward block keeps its two projections (up: width -> inner,
#: down: inner -> width), relative to the layer, and the config key holding the inner width.
FFN_PATHS: tuple[tuple[str, str, str], ...] = (
    ("intermediate.dense", "output.dense", "intermediate_size"),  # BERT, RoBERTa, MiniLM
    # wav2vec2, HuBERT
    ("feed_forward.intermediate_dense", "feed_forward.output_dense", "intermediate_size"),
    ("ffn.lin1", "ffn.lin2", "hidden_dim"),  # DistilBERT
)


def _ffn_pair(layer: Any) -> tuple[str, str, str]:
    """The :data:`FFN_PATHS` row (up name, down name, config key) that ``layer`` matches."""
    from torch import nn

    for row in FFN_PATHS:
        try:
            up, down = layer.get_submodule(row[0]), layer.get_submodule(row[1])
        except AttributeError:
            continue
        if isinstance(up, nn.Linear) and isinstance(down, nn.Linear):
            return row
    raise UsageError(
        f"cannot prune {type(layer).__name__}: no feed-forward pair at "
        + ", ".join(f"{u!r}/{d!r}" for u, d, _ in FFN_PATHS),
        "prune_ffn knows BERT-, wav2vec2- and DistilBERT-style layers",
    )


def _score(mean_abs: Any, down: Any) -> Any:
    """Mean |activation| x down-projection column norm: how much each neuron moves the output."""
    return mean_abs * down.weight.detach().norm(dim=0)


def _ffn_inputs(
    model: Any, data: Any, layers_path: str | None, batch_size: int, sample_tokens: int = 0
) -> tuple[list[Any], list[Any], list[Any]]:
    """Run ``model`` on ``data`` and watch each feed-forward block's inner activations.

    Returns, per layer, the down projection, the mean absolute activation of every neuron over
    the real tokens, and (when ``sample_tokens`` > 0) about that many activation rows taken at
    an even stride over all real tokens.
    """
    import numpy as np
    import torch

    from perfkit.compress.distillation import length_sorted_batches
    from perfkit.compress.models import input_names

    _, layers = find_layers(model, layers_path)
    downs = [layer.get_submodule(_ffn_pair(layer)[1]) for layer in layers]
    names = input_names(model)
    arrays = {k: np.asarray(data[k]) for k in names}
    n = len(arrays[names[0]])
    if n == 0:
        raise UsageError("no data to score the feed-forward neurons on", "pass some inputs")
    mask = arrays.get("attention_mask")
    has_mask = mask is not None and mask.ndim == 2
    total = int(mask.sum()) if has_mask else arrays[names[0]].size  # at most this many rows
    stride = max(1, total // sample_tokens) if sample_tokens > 0 else 0
    sums = [torch.zeros(down.in_features, dtype=torch.float64) for down in downs]
    counts = [0] * len(downs)
    rows: list[list[Any]] = [[] for _ in downs]
    mask_now: list[Any] = [None]

    def hook(k: int) -> Any:
        def pre(module: Any, args: Any) -> None:
            act = args[0].detach()
            m = mask_now[0]
            if m is not None and act.dim() == 3 and m.shape == act.shape[:2]:
                act = act[m.bool()]
            act = act.reshape(-1, act.shape[-1])
            if stride:
                # Row i of the whole stream is kept when i % stride == 0.
                first = (-counts[k]) % stride
                rows[k].append(act[first::stride].clone())
            sums[k] += act.abs().sum(0, dtype=torch.float64)
            counts[k] += act.shape[0]

        return pre

    handles = [down.register_forward_pre_hook(hook(k)) for k, down in enumerate(downs)]
    modes = [(m, m.training) for m in model.modules()]  # each module's own, restored after
    model.eval()
    try:
        with torch.inference_mode():
            for batch in length_sorted_batches(arrays, batch_size):
                mask_now[0] = batch.get("attention_mask")
                model(*(batch[k] for k in names))
    finally:
        for handle in handles:
            handle.remove()
        for module, mode in modes:
            module.training = mode
    means = [(s / max(c, 1)).float() for s, c in zip(sums, counts, strict=True)]
    samples = [torch.cat(r) if r else None for r in rows]
    return downs, means, samples


def ffn_importance(
    model: Any,
    data: Any,
    *,
    layers_path: str | None = None,
    batch_size: int = 64,
) -> list[Any]:
    """Each feed-forward neuron's mean contribution on ``data``, one tensor per layer.

    A neuron's score is its mean absolute activation over the real tokens of ``data`` times the
    norm of its column in the down projection: how much it moves the layer's output (the
    first-order criterion of Molchanov et al. 2017 without gradients).
    """
    downs, means, _ = _ffn_inputs(model, data, layers_path, batch_size)
    return [_score(m, down) for m, down in zip(means, downs, strict=True)]


def _refit_down(acts: Any, weight: Any, bias: Any, keep: Any, ridge: float = 1e-6) -> Any:
    """Least-squares down projection from the kept neurons that best reproduces the full one.

    Solves ``min ||[A_keep, 1] X - A W^T||^2 + ridge * ||X||^2`` on sampled activation rows
    ``A``: the removed neurons' average effect moves into the bias and the kept columns absorb
    what they can of the rest (the reconstruction step of FLAP-style pruning).
    """
    import torch

    a = acts.double()
    target = a @ weight.detach().double().T
    x = torch.cat([a[:, keep], torch.ones(len(a), 1, dtype=a.dtype)], dim=1)
    gram = x.T @ x
    gram += ridge * gram.diagonal().mean() * torch.eye(len(gram), dtype=a.dtype)
    sol = torch.linalg.solve(gram, x.T @ target)
    new_bias = (bias.detach().double() if bias is not None else 0.0) + sol[-1]
    return sol[:-1].T.to(weight.dtype), new_bias.to(weight.dtype)


def prune_ffn(
    model: Any,
    width: int,
    data: Any,
    *,
    layers_path: str | None = None,
    batch_size: int = 64,
    refit: bool = True,
    refit_tokens: int = 16384,
) -> Any:
    """Shrink every feed-forward block of ``model`` to its ``width`` most important neurons.

    Structured pruning: the rows of each up projection and the columns of each down projection
    that :func:`ffn_importance` ranks lowest on ``data`` are removed, so the model does less
    arithmetic (the FFN is about two thirds of a BERT layer's) rather than holding zeros. With
    ``refit`` the kept down-projection columns and bias are then solved by least squares to
    reproduce the full block's output on about ``refit_tokens`` sampled tokens of ``data``, so
    the cut loses less before any training. The model is changed in place and returned;
    Hugging Face configs get the new inner width (``intermediate_size``, DistilBERT's
    ``hidden_dim``) so :func:`~perfkit.compress.models.save_model` round-trips it. Distil
    afterwards to win back what the cut lost.

    Raises
    ------
    UsageError
        ``width`` outside 1..the current inner width, an unknown layer type, or no data.
    """
    import torch
    from torch import nn

    _, layers = find_layers(model, layers_path)
    rows = [_ffn_pair(layer) for layer in layers]
    inner = {
        layer.get_submodule(down).in_features
        for layer, (_, down, _) in zip(layers, rows, strict=True)
    }
    if len(inner) != 1:
        raise UsageError(
            f"the feed-forward widths differ between layers ({sorted(inner)})",
            "prune_ffn keeps one width for every layer",
        )
    current = inner.pop()
    if not 1 <= int(width) <= current:
        raise UsageError(
            f"width={width} is outside 1..{current} (the feed-forward blocks' inner width)",
            f"choose a width between 1 and {current}, e.g. {current // 2}",
        )
    width = int(width)
    downs, means, samples = _ffn_inputs(
        model, data, layers_path, batch_size, refit_tokens if refit else 0
    )
    for layer, (up_name, down_name, _), down, mean, acts in zip(
        layers, rows, downs, means, samples, strict=True
    ):
        up = layer.get_submodule(up_name)
        keep = torch.sort(torch.topk(_score(mean, down), width).indices).values
        with torch.no_grad():
            new_up = nn.Linear(up.in_features, width, bias=up.bias is not None)
            new_up.weight.copy_(up.weight[keep])
            if up.bias is not None:
                new_up.bias.copy_(up.bias[keep])
            refitted = refit and acts is not None and len(acts) > width and width < current
            new_down = nn.Linear(width, down.out_features, bias=refitted or down.bias is not None)
            if refitted:
                w, b = _refit_down(acts, down.weight, down.bias, keep)
                new_down.weight.copy_(w)
                new_down.bias.copy_(b)
            else:
                new_down.weight.copy_(down.weight[:, keep])
                if down.bias is not None:
                    new_down.bias.copy_(down.bias)
        layer.set_submodule(up_name, new_up.to(up.weight.dtype))
        layer.set_submodule(down_name, new_down.to(down.weight.dtype))
    key = rows[0][2]
    for mod in model.modules():
        cfg = getattr(mod, "config", None)
        if cfg is not None and hasattr(cfg, key):
            setattr(cfg, key, width)
    return model
