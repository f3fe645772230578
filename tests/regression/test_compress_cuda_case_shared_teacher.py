"""Regression: a CUDA compression case moved the shared, cached CPU teacher onto the GPU.

``_CudaFormCase.make_inputs`` called ``teacher.to(device)`` on the teacher cached by
``encoder_bundle``: ``Module.to`` works in place, so after a CUDA case every CPU case of the
same process would have fed CPU tensors to a GPU model. It now moves a copy. Checked here with
torch's "meta" device, which every build has, in place of CUDA.
"""

from __future__ import annotations

import pytest

pytest.importorskip("torch")
pytest.importorskip("onnxruntime")


def test_gpu_form_case_leaves_the_cached_teacher_on_the_cpu():
    from perfkit.compress import cases

    case = cases.EncoderAutocastFp16()
    x = case.make_inputs({"model": "tiny", "batch": 4, "device": "meta"})
    teacher = cases.encoder_bundle("tiny")["teacher"]
    assert next(x["teacher"].parameters()).device.type == "meta"
    assert next(teacher.parameters()).device.type == "cpu"
    assert x["teacher"] is not teacher
