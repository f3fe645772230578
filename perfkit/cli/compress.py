"""``perfkit compress MODEL --method dynamic|static|distill --out DIR``: compress and prove it.

Loads a saved model (a perfkit model dir or ``model.pt`` + ``config.json`` read with
``torch.load(weights_only=True)``, an ``.onnx`` file, or a sentence-transformers directory),
compresses it, prints the comparison table, and writes the compressed model and ``report.json``
into DIR. Every input is validated before any work (a model folder is data: custom code is
refused, nothing is unpickled, stdin is never read); DIR may not be or hold an input; model and
report are committed together in one rename, and nothing is written outside DIR.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from perfkit.errors import UsageError

METHODS = ("dynamic", "static", "distill")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "compress",
        help="quantize (int8) or distil a model and report size, latency and fidelity",
        description=__doc__.split("\n\n")[0],
    )
    p.add_argument(
        "model", help="model dir, model.pt (+config.json), .onnx, or sentence-transformers dir"
    )
    p.add_argument("--method", choices=METHODS, required=True)
    p.add_argument("--engine", choices=("onnxruntime", "torch"), default="onnxruntime")
    p.add_argument(
        "--calibration",
        "--data",
        dest="calibration",
        help=".npz (one array per input, optional labels), .npy, or .txt (one sentence a line): "
        "calibration data (static), export examples (dynamic), training data (distill)",
    )
    p.add_argument(
        "--eval", dest="eval_data", help="held-out data for the report (default: --calibration)"
    )
    p.add_argument(
        "--calibration-method", choices=("minmax", "percentile", "entropy"), default="minmax"
    )
    p.add_argument("--per-tensor", action="store_true", help="one weight scale per tensor")
    p.add_argument(
        "--target-cosine", type=float, help="keep sensitive layers float until this cosine holds"
    )
    p.add_argument("--keep", default="alternate", help="distill: 'alternate' or indices like 0,2,4")
    p.add_argument("--steps", type=int, default=100, help="distill: optimizer steps")
    p.add_argument("--temperature", type=float, default=2.0, help="distill: softening T > 0")
    p.add_argument("--lr", type=float, default=1e-4, help="distill: learning rate")
    p.add_argument("--batch-sizes", default="1,32", help="latency batch sizes, e.g. 1,32")
    p.add_argument("--repeat", type=int, default=10, help="timed calls per batch size")
    p.add_argument("--out", required=True, help="output directory")
    p.set_defaults(func=run)


def _parse_ints(text: str, what: str) -> list[int]:
    try:
        values = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise UsageError(
            f"{what} must be comma-separated integers, got {text!r}", "e.g. 1,32"
        ) from None
    if not values:
        raise UsageError(f"{what} is empty", "e.g. 1,32")
    return values


def _inputs(args: argparse.Namespace) -> list[Path]:
    """Every file or folder the run reads: none of them may be (under) the output."""
    model = Path(args.model)
    paths = [model]
    if model.is_file() or model.suffix in (".pt", ".onnx"):
        paths.append(model.parent / "config.json")
    paths += [Path(p) for p in (args.calibration, args.eval_data) if p]
    return paths


def _check_out(out: Path, inputs: list[Path]) -> None:
    """Refuse an output that would destroy an input or cannot be written, before any work."""
    from perfkit._atomic import TEMP_PREFIX, check_writable, refuse_output_over_input

    refuse_output_over_input(out, inputs)
    check_writable(out, directory=True)
    # The folder is replaced in one rename (model and report together): its parent must be
    # writable too.
    check_writable(out.absolute().parent / f"{TEMP_PREFIX}probe")
    if out.is_dir():
        entries = [p for p in out.iterdir() if not p.name.startswith(TEMP_PREFIX)]
        if entries and not _is_compress_output(out):
            raise UsageError(
                f"--out {out} is a folder with other files; perfkit replaces the whole folder",
                "choose a new or empty folder (or one an earlier perfkit compress wrote)",
            )


def _is_compress_output(folder: Path) -> bool:
    """True when ``folder`` holds the report.json of an earlier ``perfkit compress`` run."""
    import json

    try:
        doc = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(doc, dict) and doc.get("kind") == "perfkit.compress.comparison"


def run(args: argparse.Namespace) -> int:
    """Validate everything, compress, then commit model + report into ``--out`` in one rename.

    Library caches (ONNX Runtime's device id, Hugging Face, torch) go to a temp folder that is
    removed afterwards: the run writes nothing outside ``--out``. stdin is never read.
    """
    from perfkit.compress._quiet import private_caches

    batch_sizes = _parse_ints(args.batch_sizes, "--batch-sizes")
    if any(b <= 0 for b in batch_sizes) or args.repeat <= 0:
        raise UsageError("batch sizes and --repeat must be positive", "e.g. --batch-sizes 1,32")
    if args.method == "distill" and not 0 < args.temperature < float("inf"):
        raise UsageError(
            f"--temperature must be > 0 and finite, got {args.temperature}", "use e.g. 2"
        )
    if args.method == "distill" and (args.steps <= 0 or not 0 < args.lr < float("inf")):
        raise UsageError(
            f"--steps and --lr must be positive, got {args.steps} and {args.lr}",
            "e.g. --steps 100 --lr 1e-4",
        )
    if args.target_cosine is not None and not 0 < args.target_cosine <= 1:
        raise UsageError(
            f"--target-cosine must be in (0, 1], got {args.target_cosine}", "e.g. 0.99"
        )
    if args.calibration is None:
        raise UsageError(
            f"--method {args.method} needs data", "pass --calibration DATA (.npz, .npy or .txt)"
        )
    for what, text in (("MODEL", args.model), ("--calibration", args.calibration),
                       ("--eval", args.eval_data), ("--out", args.out)):  # fmt: skip
        if text is not None and ("\x00" in text or not text.strip()):
            raise UsageError(f"{what} {text!r} is not a usable path", "give a real file name")
    out = Path(args.out)
    _check_out(out, _inputs(args))
    with private_caches():
        return _run(args, out, batch_sizes)


def _preflight(model: object, data: dict, what: str) -> None:
    """Run the model on two samples: data it cannot take is the user's, said in one line."""
    import numpy as np

    from perfkit.compress.quantize import check_model_runs

    small = {k: np.asarray(v)[:2] for k, v in data.items()}
    try:
        if hasattr(model, "forward"):  # a torch module
            check_model_runs(model, small, what)
        else:
            model(small)
    except UsageError:
        raise
    except Exception as exc:  # ONNX Runtime raises its own types for wrong shapes/dtypes
        shapes = ", ".join(f"{k} {np.shape(v)} {np.asarray(v).dtype}" for k, v in small.items())
        raise UsageError(
            f"the model cannot run on the {what} data ({shapes}): "
            f"{(str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]}",
            f"pass {what} data shaped and typed like the model's real inputs",
        ) from None


def _check_labels(model: object, data: dict, labels: object, where: str) -> None:
    """Class labels must name one of the classifier's outputs (0 .. classes - 1)."""
    import numpy as np

    from perfkit.compress.models import predict

    if labels is None:
        return
    one = {k: np.asarray(v)[:1] for k, v in data.items()}
    classes = np.shape(predict(model, one) if hasattr(model, "forward") else model(one))[-1]
    labels = np.asarray(labels)
    if labels.size and (labels.min() < 0 or labels.max() >= classes):
        raise UsageError(
            f"{where}: 'labels' range over [{labels.min()}, {labels.max()}] but the model has "
            f"{classes} classes",
            f"use labels 0..{classes - 1}",
        )


def _sentences(path: str) -> list[str] | None:
    """The sentences of a ``.txt`` data file (for the synonym-invariance check), else None."""
    if not path.endswith(".txt"):
        return None
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return [ln.strip() for ln in lines if ln.strip()]


def _run(args: argparse.Namespace, out: Path, batch_sizes: list[int]) -> int:
    import torch

    from perfkit._atomic import atomic_dir
    from perfkit.compress import Fidelity, compare_models
    from perfkit.compress._ort import OrtModel
    from perfkit.compress.io import load_compressed, load_data
    from perfkit.compress.models import SentenceEmbedder, input_names, save_model

    model = load_compressed(args.model)
    is_onnx = isinstance(model, OrtModel)
    if not is_onnx and not isinstance(model, torch.nn.Module):
        raise UsageError(
            f"{args.model} is already a compressed model ({model.method})",
            "compress the fp32 model instead",
        )
    if is_onnx and (args.engine == "torch" or args.method == "distill"):
        raise UsageError(
            "an ONNX model cannot be used with --engine torch or --method distill",
            "pass the torch model (dir with config.json + model.pt)",
        )
    names = model.input_names if is_onnx else input_names(model)
    tokenizer = None
    if isinstance(model, SentenceEmbedder) and model.tokenizer is not None:
        tokenizer = model.tokenize
    data, labels = load_data(args.calibration, names, tokenizer)
    if args.eval_data:
        eval_data, eval_labels = load_data(args.eval_data, names, tokenizer)
    else:
        eval_data, eval_labels = data, labels
    _preflight(model, data, "calibration")
    if args.eval_data:
        _preflight(model, eval_data, "eval")
    if getattr(model, "task", "") == "classification":
        _check_labels(model, data, labels, args.calibration)
        _check_labels(model, eval_data, eval_labels, args.eval_data or args.calibration)
    target = Fidelity(cosine=args.target_cosine) if args.target_cosine is not None else None

    if args.method == "dynamic":
        from perfkit.compress import quantize_dynamic

        result = quantize_dynamic(
            model,
            data,
            engine=args.engine,
            per_channel=not args.per_tensor,
            target=target,
            held_out=eval_data,
        )
    elif args.method == "static":
        from perfkit.compress import quantize_static

        result = quantize_static(
            model,
            data,
            engine=args.engine,
            method=args.calibration_method,
            per_channel=not args.per_tensor,
            target=target,
            held_out=eval_data,
        )
    else:
        from perfkit.compress import distill, student_from_teacher

        keep = args.keep if args.keep == "alternate" else _parse_ints(args.keep, "--keep")
        result = student_from_teacher(model, keep)
        train = dict(data)
        if labels is not None and getattr(model, "task", "") == "classification":
            train["labels"] = labels
        distill(
            model,
            result,
            train,
            steps=args.steps,
            temperature=args.temperature,
            lr=args.lr,
            gamma_ce=0.5 if "labels" in train else 0.0,
        )
    report = compare_models(
        model,
        {args.method: result},
        eval_data,
        labels=eval_labels,
        batch_sizes=batch_sizes,
        repeat=args.repeat,
        task=getattr(model, "task", None),
        texts=_sentences(args.eval_data or args.calibration) if tokenizer else None,
        tokenize=tokenizer,
    )
    # Model and report are written into a temp folder beside --out, which then replaces --out in
    # one rename: an error (or a kill) anywhere leaves --out as it was.
    with atomic_dir(out) as stage:
        if isinstance(result, torch.nn.Module):
            save_model(result, stage)
        elif isinstance(result, OrtModel):
            result.save(stage / "model.onnx")
        else:
            result.save(stage)
        report.save(stage / "report.json")
    print(report.render())
    fb = getattr(result, "fallback", None)
    if fb is not None:
        print(f"fidelity target: {'met' if fb.met else 'NOT met'} — {fb.reason}")
        if fb.kept_float:
            print("kept in float: " + ", ".join(fb.kept_float))
    written = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
    print(f"wrote {out}/ ({', '.join(written)})")
    return 0
