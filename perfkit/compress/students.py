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
