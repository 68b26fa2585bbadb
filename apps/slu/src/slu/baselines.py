"""The paper's baselines, selected by ``--method.name`` (the rows of COCONUT's tables besides COCONUT):

- ``finetune``: each task trained on its own data only (the lower bound: catastrophic forgetting);
- ``joint``: each task trained on all data of the tasks so far (the upper bound);
- ``er``: experience replay, the new task's data plus the class-balanced rehearsal memory;
- ``er_kd``: ER + audio-KD, the student's pooled encoder features pulled to the previous model's
  on the rehearsal clips (CL_SLU's feature-space distillation);
- ``er_skd``: ER + sequence-level KD, the rehearsal clips also trained on the previous model's
  greedy decodings (Speech_CL's S-KD).

Each entry is ``(uses the memory, trains on all tasks so far, loss terms beyond the sequence
cross-entropy)``; the terms are computed in :class:`slu.method.ContinualSLU`.
"""

from __future__ import annotations

BASELINES: dict[str, tuple[bool, bool, tuple[str, ...]]] = {
    "finetune": (False, False, ()),
    "joint": (False, True, ()),
    "er": (True, False, ()),
    "er_kd": (True, False, ("kd",)),
    "er_skd": (True, False, ("skd",)),
}
