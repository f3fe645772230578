"""Fixtures for perfkit.compress tests: tiny models, built once per session."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnxruntime")
pytest.importorskip("transformers")


@pytest.fixture(scope="session", autouse=True)
def _one_thread():
    # The CI machine has 2 shared cores: one intra-op thread is faster than contended two.
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="session")
def bert():
    from perfkit.compress.models import tiny_bert

    return tiny_bert(num_layers=4, hidden=32)


@pytest.fixture(scope="session")
def tokens():
    rng = np.random.default_rng(0)
    lengths = rng.integers(5, 12, size=48)
    ids = rng.integers(5, 128, size=(48, 12))
    mask = (np.arange(12)[None, :] < lengths[:, None]).astype(np.int64)
    return {"input_ids": ids * mask, "attention_mask": mask}


@pytest.fixture(scope="session")
def digits_data():
    from perfkit.compress.data import digits

    return digits(0)


@pytest.fixture(scope="session")
def digits_model(digits_data):
    from perfkit.compress.models import MLPClassifier, train_classifier

    torch.manual_seed(0)
    model = MLPClassifier(64, (48, 48, 48), 10)
    d = digits_data
    return train_classifier(model, d.train.x, d.train.y, epochs=8, lr=3e-3)
