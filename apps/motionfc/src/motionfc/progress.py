"""One console line when a training stage starts (the staged models of both studies)."""

from __future__ import annotations

from lightning.pytorch.callbacks import Callback
from lightning.pytorch.utilities import rank_zero_only


class StageLines(Callback):
    """Prints ``[name] stage S from epoch E of N`` when the module's ``stage()`` changes.

    Works with any module that has a ``stage()`` method (:class:`~motionfc.method.CausalMotion`,
    :class:`~motionfc.baselines.StgatForecaster`); a resumed fit prints the stage it resumes in.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self._last = None

    @rank_zero_only
    def on_train_epoch_start(self, trainer, pl_module) -> None:
        stage = pl_module.stage()
        if stage != self._last:
            print(f"[{self.name}] stage {stage} from epoch {trainer.current_epoch + 1} of {trainer.max_epochs}",
                  flush=True)
            self._last = stage
