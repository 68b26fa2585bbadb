"""Readers (ETH/UCY, Trajnet++), the ORCA style dataset, the spurious feature, batching."""

from motionfc.data.windows import SceneWindows, concat_windows, windows_from_tracks

__all__ = ["SceneWindows", "concat_windows", "windows_from_tracks"]
