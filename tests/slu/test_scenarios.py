"""Scenario class orders: CL_SLU's FSC order translated to names, task sizes, FSDD, seeded orders."""

from __future__ import annotations

import pytest
from slu.data.fsdd import DIGITS
from slu.data.prompts import FSC_INTENTS
from slu.data.scenarios import (
    CL_SLU_CLASS_IDS,
    CL_SLU_CLASS_ORDER,
    FSC_ORDER,
    class_order,
    make_tasks,
    task_sizes,
)

FSC_NAMES = sorted(f"{a}_{o}_{loc}" for a, o, loc in FSC_INTENTS)


def test_fsc_order_is_cl_slu_ids_through_the_authors_map():
    assert FSC_ORDER == tuple(CL_SLU_CLASS_IDS[i] for i in CL_SLU_CLASS_ORDER)
    assert sorted(CL_SLU_CLASS_IDS) == FSC_NAMES  # the authors' map names exactly the 31 FSC intents
    assert sorted(CL_SLU_CLASS_ORDER) == list(range(31))
    assert FSC_ORDER[:4] == ("increase_heat_washroom", "change language_Korean_none", "bring_shoes_none",
                             "change language_English_none")


@pytest.mark.parametrize(("n_tasks", "sizes"), [(10, [4] + [3] * 9), (6, [6] + [5] * 5), (3, [11, 10, 10])])
def test_fsc_task_sizes(n_tasks, sizes):
    tasks = make_tasks(FSC_NAMES, n_tasks, "fsc")
    assert [len(t) for t in tasks] == sizes == task_sizes(31, n_tasks)
    assert [c for t in tasks for c in t] == list(FSC_ORDER)


def test_fsdd_five_tasks_of_two_digits():
    assert make_tasks(sorted(DIGITS), 5, "fsdd") == [["zero", "one"], ["two", "three"], ["four", "five"],
                                                     ["six", "seven"], ["eight", "nine"]]


def test_seeded_order_is_a_fixed_permutation():
    a, b = class_order(FSC_NAMES, "seed", 3), class_order(FSC_NAMES, "seed", 3)
    assert a == b and sorted(a) == FSC_NAMES and a != FSC_NAMES
    assert class_order(FSC_NAMES, "seed", 4) != a


def test_bad_scenarios_are_refused():
    with pytest.raises(ValueError, match="n_tasks"):
        task_sizes(4, 5)
    with pytest.raises(ValueError, match="FSC intents"):
        class_order(["zero", "one"], "fsc")
