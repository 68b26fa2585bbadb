"""Lightning's CSV and TensorBoard loggers, with write errors that name the folder.

TensorBoard writes its event file in a background thread and re-raises a failure (a full disk:
``OSError: [Errno 28] No space left on device``) at the next logging call, without any path; a
CSV write fails the same way. Here every logging call turns such an ``OSError`` into one that
names the log folder, so that the one-line error of the command says where space ran out.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger


def _naming_folder(call: Callable[..., Any], folder: str, what: str, *args: Any, **kwargs: Any) -> Any:
    try:
        return call(*args, **kwargs)
    except OSError as error:
        reason = error.strerror or str(error) or type(error).__name__
        raise OSError(error.errno, f"writing {what} logs to {folder}: {reason}") from error


class _NamesItsFolder:
    """Mixin for a Lightning logger (placed before it): every writing call names ``log_dir``."""

    kind = "these"

    def log_metrics(self, *args: Any, **kwargs: Any) -> None:
        _naming_folder(super().log_metrics, self.log_dir, self.kind, *args, **kwargs)

    def log_hyperparams(self, *args: Any, **kwargs: Any) -> None:
        _naming_folder(super().log_hyperparams, self.log_dir, self.kind, *args, **kwargs)

    def save(self) -> None:
        _naming_folder(super().save, self.log_dir, self.kind)

    def finalize(self, status: str) -> None:
        _naming_folder(super().finalize, self.log_dir, self.kind, status)


class RunCSVLogger(_NamesItsFolder, CSVLogger):
    """:class:`CSVLogger` whose write errors name its folder (module docstring)."""

    kind = "CSV"


class RunTensorBoardLogger(_NamesItsFolder, TensorBoardLogger):
    """:class:`TensorBoardLogger` whose write errors name its folder (module docstring)."""

    kind = "TensorBoard"
