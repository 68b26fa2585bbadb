"""Class-incremental metrics against hand-computed matrices, and WER."""

from __future__ import annotations

import numpy as np
import pytest
from slu.evaluate import cl_metrics, word_error_rate


def test_metrics_of_a_hand_computed_matrix():
    nan = np.nan
    R = np.array([[0.9, nan, nan],
                  [0.6, 0.8, nan],
                  [0.3, 0.5, 0.7]])
    counts = [10, 10, 20]
    m = cl_metrics(R, counts)
    # A_0 = 0.9; A_1 = (6 + 8) / 20 = 0.7; A_2 = (3 + 5 + 14) / 40 = 0.55
    assert m["seen_acc"] == pytest.approx([0.9, 0.7, 0.55])
    assert m["avg_acc"] == pytest.approx((0.9 + 0.7 + 0.55) / 3)
    assert m["last_acc"] == pytest.approx(0.55)
    # forgetting: task 0: max(0.9, 0.6) - 0.3 = 0.6; task 1: 0.8 - 0.5 = 0.3
    assert m["forgetting"] == pytest.approx(0.45)
    # BWT: (0.3 - 0.9 + 0.5 - 0.8) / 2
    assert m["bwt"] == pytest.approx(-0.45)


def test_forgetting_uses_the_best_earlier_accuracy():
    R = np.array([[0.5, np.nan, np.nan], [0.9, 0.6, np.nan], [0.4, 0.6, 1.0]])
    m = cl_metrics(R, [1, 1, 1])
    assert m["forgetting"] == pytest.approx(((0.9 - 0.4) + 0.0) / 2)
    assert m["bwt"] == pytest.approx(((0.4 - 0.5) + 0.0) / 2)


def test_single_task():
    m = cl_metrics(np.array([[0.25]]), [4])
    assert (m["avg_acc"], m["last_acc"], m["forgetting"], m["bwt"]) == (0.25, 0.25, 0.0, 0.0)


def test_wrong_shapes_are_refused():
    with pytest.raises(ValueError, match="matrix must be"):
        cl_metrics(np.zeros((2, 3)), [1, 1])


def test_wer_through_torchmetrics():
    assert word_error_rate(["turn on the light", "lamp on"], ["turn on the lights", "lamp on"]) == pytest.approx(1 / 6)
