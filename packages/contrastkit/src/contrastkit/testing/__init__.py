"""Float64 loop references of every loss (slow, independent of the kernel), for tests."""

from contrastkit.testing.references import (
    RefOutput,
    l2n,
    ref_align,
    ref_clip,
    ref_cwcl,
    ref_dcl,
    ref_dclw,
    ref_info_nce,
    ref_nt_xent,
    ref_siglip,
    ref_sinkhorn,
    ref_supcon,
    ref_swav,
    ref_symile,
    ref_uniform,
    ref_weighted_ce,
)

__all__ = [
    "RefOutput",
    "l2n",
    "ref_align",
    "ref_clip",
    "ref_cwcl",
    "ref_dcl",
    "ref_dclw",
    "ref_info_nce",
    "ref_nt_xent",
    "ref_siglip",
    "ref_sinkhorn",
    "ref_supcon",
    "ref_swav",
    "ref_symile",
    "ref_uniform",
    "ref_weighted_ce",
]
