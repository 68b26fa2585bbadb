"""Class-incremental scenarios: which classes each task brings, stored as class names.

- FSC in 10 tasks (4 intents, then 3 per task) in the class order of CL_SLU
  (umbertocappellazzo/CL_SLU ``main.py``: ``class_order = [19, 27, 30, ...]``). Those ids index the
  authors' own unsorted intent map (``class_ids`` of ``Speech_CL/Speech_CLscenario/fluentspeech.py``
  and of their continuum fork's ``fluentspeech.py``, the same map), reproduced in
  :data:`CL_SLU_CLASS_IDS`; :data:`FSC_ORDER` is that order translated once into intent names
  (tests/slu/test_scenarios.py checks the translation).
- FSC-3 / FSC-6 take the same order in 3 or 6 tasks, the first task taking the remainder
  (11+10+10, 6+5x5), as CL_SLU's ``initial_increment`` / ``increment`` split does for 10 tasks.
- SLURP-3 / SLURP-6: the 18 scenarios in sorted order, 6 or 3 per task (the authors' order for
  SLURP was not found; ``order_seed`` draws another).
- FSDD: 5 tasks of 2 digits, 0-1, 2-3, ...
- Any class list in any number of tasks, in sorted order or in an order drawn from a seed.
"""

from __future__ import annotations

import numpy as np

# The authors' map (Speech_CL fluentspeech.py, class_ids), written as action_object_location.
CL_SLU_CLASS_IDS = (
    "change language_none_none", "activate_music_none", "activate_lights_none", "deactivate_lights_none",
    "increase_volume_none", "decrease_volume_none", "increase_heat_none", "decrease_heat_none",
    "deactivate_music_none", "activate_lamp_none", "deactivate_lamp_none", "activate_lights_kitchen",
    "activate_lights_bedroom", "activate_lights_washroom", "deactivate_lights_kitchen", "deactivate_lights_bedroom",
    "deactivate_lights_washroom", "increase_heat_kitchen", "increase_heat_bedroom", "increase_heat_washroom",
    "decrease_heat_kitchen", "decrease_heat_bedroom", "decrease_heat_washroom", "bring_newspaper_none",
    "bring_juice_none", "bring_socks_none", "change language_Chinese_none", "change language_Korean_none",
    "change language_English_none", "change language_German_none", "bring_shoes_none",
)
CL_SLU_CLASS_ORDER = (19, 27, 30, 28, 15, 4, 2, 9, 10, 22, 11, 7, 1, 25, 16, 14, 5,
                      8, 29, 12, 21, 17, 3, 20, 23, 6, 18, 24, 26, 0, 13)
# CL_SLU_CLASS_ORDER through CL_SLU_CLASS_IDS, written out once
FSC_ORDER = (
    "increase_heat_washroom", "change language_Korean_none", "bring_shoes_none", "change language_English_none",
    "deactivate_lights_bedroom", "increase_volume_none", "activate_lights_none", "activate_lamp_none",
    "deactivate_lamp_none", "decrease_heat_washroom", "activate_lights_kitchen", "decrease_heat_none",
    "activate_music_none", "bring_socks_none", "deactivate_lights_washroom", "deactivate_lights_kitchen",
    "decrease_volume_none", "deactivate_music_none", "change language_German_none", "activate_lights_bedroom",
    "decrease_heat_bedroom", "increase_heat_kitchen", "deactivate_lights_none", "decrease_heat_kitchen",
    "bring_newspaper_none", "increase_heat_none", "increase_heat_bedroom", "bring_juice_none",
    "change language_Chinese_none", "change language_none_none", "activate_lights_washroom",
)


def task_sizes(n_classes: int, n_tasks: int) -> list[int]:
    """Classes per task: ``n_classes // n_tasks`` each, the remainder added to the first task."""
    if not 1 <= n_tasks <= n_classes:
        raise ValueError(f"n_tasks must be in 1..{n_classes} (the number of classes); got {n_tasks}")
    base = n_classes // n_tasks
    return [base + n_classes % n_tasks] + [base] * (n_tasks - 1)


def split_tasks(order: list[str] | tuple[str, ...], n_tasks: int) -> list[list[str]]:
    """``order`` cut into ``n_tasks`` consecutive tasks (:func:`task_sizes`)."""
    tasks, start = [], 0
    for size in task_sizes(len(order), n_tasks):
        tasks.append(list(order[start:start + size]))
        start += size
    return tasks


def class_order(classes: list[str], order: str = "sorted", seed: int = 0) -> list[str]:
    """The classes in ``order``: ``sorted``, ``seed`` (a permutation drawn from ``seed``), ``fsc``
    (CL_SLU's FSC order; every class must be an FSC intent) or ``fsdd`` (digits 0..9)."""
    names = sorted(classes)
    if order == "sorted":
        return names
    if order == "seed":
        return [names[i] for i in np.random.default_rng(seed).permutation(len(names))]
    if order == "fsc":
        unknown = sorted(set(names) - set(FSC_ORDER))
        if unknown:
            raise ValueError(f"order 'fsc' needs FSC intents; unknown: {unknown[:5]}")
        return [c for c in FSC_ORDER if c in set(names)]
    if order == "fsdd":
        from slu.data.fsdd import DIGITS

        return [d for d in DIGITS if d in set(names)]
    raise ValueError(f"unknown order {order!r}; expected sorted, seed, fsc or fsdd")


def make_tasks(classes: list[str], n_tasks: int, order: str = "sorted", seed: int = 0) -> list[list[str]]:
    """The scenario: :func:`class_order` cut into ``n_tasks`` tasks."""
    return split_tasks(class_order(classes, order, seed), n_tasks)
