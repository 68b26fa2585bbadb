"""Winoground-style scores against hand-made similarity matrices."""

import numpy as np
import pytest
from audiolang.evaluate import CHANCE, three_way_scores, winoground_scores


def test_scores_follow_the_official_definitions():
    # rows: a perfect pair; text right only; audio right only; neither
    s00 = [0.9, 0.9, 0.9, 0.1]
    s01 = [0.1, 0.95, 0.1, 0.9]   # caption 0 with audio 1
    s10 = [0.1, 0.1, 0.95, 0.9]   # caption 1 with audio 0
    s11 = [0.9, 0.99, 0.99, 0.1]
    # text = s00>s10 and s11>s01: rows 0, 1 ; audio = s00>s01 and s11>s10: rows 0, 2
    assert winoground_scores(s00, s01, s10, s11) == {"text": 50.0, "audio": 50.0, "group": 25.0}


def test_ties_do_not_score():
    assert winoground_scores([0.5], [0.5], [0.5], [0.5]) == {"text": 0.0, "audio": 0.0, "group": 0.0}


def test_random_similarities_score_near_chance():
    rng = np.random.default_rng(0)
    s = rng.standard_normal((4, 200_000))
    got = winoground_scores(*s)
    for key in ("text", "audio", "group"):
        assert got[key] == pytest.approx(CHANCE[key], abs=0.5)


def test_three_way_scores():
    good = np.eye(3)[None] + 0.01
    bad = good.copy()
    bad[0, 1, 0] = 2.0  # caption 1 beats caption 0 on audio 0, and audio 0 beats audio 1 for caption 1
    out = three_way_scores(np.concatenate([good, bad]))
    assert out == {"third_text": 50.0, "third_audio": 50.0, "third_group": 50.0}
