"""The fused (Triton) kernel on the CPU, through Triton's interpreter, against float64 references.

Triton reads ``TRITON_INTERPRET`` when a kernel is decorated, i.e. when ``fused_triton.py`` is
first imported, and the setting must not reach the other test files of this process. So the
fused runs happen in one subprocess (this file run as a script, with ``TRITON_INTERPRET=1`` and
``CONTRASTKIT_FUSED=interpret``) that saves its losses, gradients and errors; the tests here
compare them with :func:`contrastkit.testing.ref_weighted_ce` (float64 loops) and with today's
kernel, computed in this process on the same seeded inputs.
"""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import torch
from contrastkit.functional import clip_loss, contrastive_cross_entropy, nt_xent_loss, supcon_loss
from contrastkit.testing import l2n, ref_weighted_ce
from contrastkit.testing.references import ref_clip, ref_nt_xent, ref_supcon

RTOL, ATOL = 1e-5, 1e-6  # float32 against float64


def _rand(*shape, seed):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def _ints(low, high, n, seed):
    return torch.randint(low, high, (n,), generator=torch.Generator().manual_seed(seed))


def _case(n, m, d, seed, **kw):
    """Kernel inputs: float64 ``a``, ``c`` (unit rows) and keyword options."""
    return {"a": l2n(_rand(n, d, seed=seed)), "c": l2n(_rand(m, d, seed=seed + 1)), **kw}


def cases() -> dict[str, dict]:
    """name -> inputs; ``same``: one tensor as anchors and candidates (NT-Xent); tensors named
    ``a``, ``c``, ``extra_negatives`` and a tensor ``temperature`` get gradients."""
    n, m = 37, 41  # not multiples of the interpreter's 16-wide tiles
    idx, sidx = _ints(-1, m, n, 1), torch.arange(n) % m
    la, lc = _ints(0, 5, n, 2), _ints(0, 6, m, 3)
    la[3] = 9  # a label no candidate has: dropped
    z = l2n(_rand(2 * 19, 3, seed=4))  # NT-Xent over 2 x 19 views, D = 3
    nt_pos = torch.cat([torch.arange(19, 38), torch.arange(19)])
    return {
        "index": _case(n, m, 20, 10, positive_index=idx, temperature=0.2),
        "index_self": _case(n, m, 20, 11, positive_index=idx, self_index=sidx, temperature=0.3),
        "nt_xent_same_tensor_d3": {"a": z, "same": True, "positive_index": nt_pos,
                                   "self_index": torch.arange(38), "temperature": 0.5},
        "decoupled_index": _case(n, m, 20, 12, positive_index=idx, self_index=sidx,
                                 positive_in_denominator=False, temperature=0.25),
        "labels_self": _case(n, m, 20, 13, anchor_labels=la, candidate_labels=lc, self_index=sidx, temperature=0.1),
        "labels_decoupled": _case(n, m, 20, 14, anchor_labels=la, candidate_labels=lc,
                                  positive_in_denominator=False, temperature=0.25),
        "per_anchor_learnable_temperature": _case(n, m, 20, 15, positive_index=idx,
                                                  temperature=0.05 + _rand(n, seed=7).abs()),
        "scalar_learnable_temperature": _case(n, m, 20, 16, positive_index=idx,
                                              temperature=torch.tensor(0.07, dtype=torch.float64)),
        "queue": _case(n, m, 20, 17, positive_index=idx, self_index=sidx, temperature=0.2,
                       extra_negatives=l2n(_rand(23, 20, seed=18))),
        "labels_queue": _case(n, m, 20, 19, anchor_labels=la, candidate_labels=lc, temperature=0.2,
                              extra_negatives=l2n(_rand(5, 20, seed=20))),
        "sum": _case(n, m, 20, 21, positive_index=idx, reduction="sum", temperature=0.3),
        "symmetric_index": _case(n, n, 20, 22, positive_index=torch.arange(n), symmetric=True,
                                 temperature=torch.tensor(0.05, dtype=torch.float64)),
        "symmetric_index_self": _case(n, m, 20, 23, positive_index=idx, self_index=sidx, symmetric=True,
                                      temperature=0.2),
        "symmetric_labels_self_sum": _case(n, m, 20, 24, anchor_labels=la, candidate_labels=lc, self_index=sidx,
                                           symmetric=True, reduction="sum", temperature=0.2),
        "d1": _case(18, 17, 1, 25, positive_index=_ints(-1, 17, 18, 26), temperature=0.5),
        "d768": _case(17, 19, 768, 27, positive_index=_ints(0, 19, 17, 28), self_index=torch.arange(17),
                      temperature=0.1),
        "d768_symmetric": _case(17, 17, 768, 29, positive_index=torch.arange(17), symmetric=True, temperature=0.1),
        # row 0: its positive is itself; row 1: decoupled, its one other candidate is the positive;
        # row 2: no positive; row 3: kept
        "all_masked_rows": _case(4, 2, 8, 30, positive_index=torch.tensor([0, 1, -1, 1]),
                                 self_index=torch.tensor([0, 0, 0, -1]), positive_in_denominator=False,
                                 temperature=0.2),
        "no_valid_candidate_symmetric": _case(3, 1, 8, 31, positive_index=torch.tensor([0, -1, -1]),
                                              self_index=torch.tensor([-1, 0, -1]), symmetric=True, temperature=0.2),
    }


LOSS_CASES = ("nt_xent_loss", "supcon_loss", "clip_loss")
ERROR_CASES = ("overflow_index", "overflow_symmetric", "overflow_positive_only")


def _split(case: dict, leaves: dict) -> tuple:
    kw = {k: v for k, v in case.items() if k not in ("a", "c", "same", "extra_negatives", "temperature")}
    for k in ("extra_negatives", "temperature"):
        if k in case:
            kw[k] = leaves.get(k, case[k])
    a = leaves["a"]
    return a, a if case.get("same") else leaves["c"], kw


def _leaves(case: dict, dtype: torch.dtype) -> dict:
    return {k: case[k].to(dtype).detach().requires_grad_() for k in ("a", "c", "extra_negatives", "temperature")
            if isinstance(case.get(k), torch.Tensor)}


def run_kernel(case: dict, dtype: torch.dtype, fn=contrastive_cross_entropy) -> dict:
    """Loss, per-anchor losses, dropped count and the gradients (float64) of one call."""
    leaves = _leaves(case, dtype)
    a, c, kw = _split(case, leaves)
    out = fn(a, c, **kw)
    out.loss.backward()
    grads = {k: v.grad.double() for k, v in leaves.items()}
    return {"loss": out.loss.detach().double(), "per_anchor": out.per_anchor.double(), "dropped": out.num_dropped,
            "grads": grads, "backward": type(out.loss.grad_fn).__name__}


def loss_inputs() -> dict[str, tuple]:
    z1, z2 = _rand(21, 24, seed=40), _rand(21, 24, seed=41)
    y = _ints(0, 4, 21, 42)
    return {"nt_xent_loss": ((z1, z2), lambda a, b: nt_xent_loss(a, b, 0.5), lambda a, b: ref_nt_xent(l2n(a), l2n(b), 0.5)),
            "supcon_loss": ((z1,), lambda a: supcon_loss(a, y, 0.1), lambda a: ref_supcon(l2n(a), y, 0.1).loss),
            "clip_loss": ((z1, z2), lambda a, b: clip_loss(a, b, 14.3), lambda a, b: ref_clip(l2n(a), l2n(b), 14.3))}


def error_inputs() -> dict[str, dict]:
    big = _rand(20, 4, seed=50) * 1e19  # finite, but <a, c> / t overflows float32
    pos = torch.arange(20)
    return {"overflow_index": {"a": big, "c": big.clone(), "positive_index": pos, "temperature": 0.1},
            "overflow_symmetric": {"a": big, "c": big.clone(), "positive_index": pos, "symmetric": True,
                                   "temperature": 0.1},
            # only the positive overflows (to -inf): the log-sum-exp stays finite, the loss does not
            "overflow_positive_only": {"a": torch.tensor([[1e20, 0.0], [0.0, 1.0]], dtype=torch.float64),
                                       "c": torch.tensor([[-1e20, 0.0], [0.0, 1.0]], dtype=torch.float64),
                                       "positive_index": torch.tensor([0, 1]), "temperature": 1.0}}


def _error(case: dict, dtype: torch.dtype) -> str:
    try:
        run_kernel(case, dtype)
    except ValueError as e:
        return str(e)
    return "no error"


def worker(out_path: str) -> None:
    """Run every case through the fused path (this process has the interpreter on)."""
    warnings.simplefilter("ignore")  # numpy's inf - inf in masked lanes of the interpreter
    from contrastkit.functional.kernel.fused import fused_precision

    results = {name: run_kernel(case, torch.float32) for name, case in cases().items()}
    results["bf16_inputs"] = run_kernel(cases()["index_self"], torch.bfloat16)
    for precision in ("tf32", "bf16"):
        with fused_precision(precision):
            results[f"precision_{precision}"] = run_kernel(cases()["symmetric_index"], torch.float32)
    for name, (inputs, fast, _) in loss_inputs().items():
        leaves = [x.float().requires_grad_() for x in inputs]
        loss = fast(*leaves)
        loss.backward()
        results[name] = {"loss": loss.detach().double(), "grads": [x.grad.double() for x in leaves],
                         "backward": type(loss.grad_fn).__name__}
    results["errors"] = {name: _error(case, torch.float32) for name, case in error_inputs().items()}
    results["weights_routed"] = run_kernel(_case(5, 6, 4, 60, weights=_rand(5, 6, seed=61).abs()),
                                           torch.float32)["backward"]
    torch.save(results, out_path)


@pytest.fixture(scope="module")
def fused(tmp_path_factory):
    out = tmp_path_factory.mktemp("fused") / "results.pt"
    env = {**os.environ, "TRITON_INTERPRET": "1", "CONTRASTKIT_FUSED": "interpret", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, __file__, str(out)], env=env, capture_output=True, text=True,
                          timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return torch.load(out, weights_only=False)


def _assert_close(got, want, what):
    torch.testing.assert_close(got, want.double(), rtol=RTOL, atol=ATOL, msg=lambda m: f"{what}: {m}")


@pytest.mark.parametrize("name", list(cases()))
def test_fused_matches_float64_reference(fused, name):
    case, got = cases()[name], fused[name]
    assert got["backward"] == "FusedCEBackward", "the case did not take the fused path"
    leaves = _leaves(case, torch.float64)
    a, c, kw = _split(case, leaves)
    ref = ref_weighted_ce(a, c, **kw)
    ref.loss.backward()
    _assert_close(got["loss"], ref.loss.detach(), "loss")
    _assert_close(got["per_anchor"], ref.per_anchor, "per_anchor")
    assert got["dropped"] == ref.num_dropped
    for k, leaf in leaves.items():
        _assert_close(got["grads"][k], leaf.grad, f"gradient of {k}")


@pytest.mark.parametrize("name", ["all_masked_rows", "no_valid_candidate_symmetric", "labels_self"])
def test_dropped_rows_like_todays_kernel(fused, name):
    cpu = run_kernel(cases()[name], torch.float32)
    assert cpu["backward"] != "FusedCEBackward"
    assert fused[name]["dropped"] == cpu["dropped"] > 0
    assert torch.equal(fused[name]["per_anchor"] == 0, cpu["per_anchor"] == 0)
    _assert_close(fused[name]["loss"], cpu["loss"], "loss")


def test_bf16_inputs_are_exact_on_their_values(fused):
    """bfloat16 inputs are upcast per tile: exact float32 on the rounded values; bf16 gradients."""
    case = {k: (v.to(torch.bfloat16).double() if k in ("a", "c") else v) for k, v in cases()["index_self"].items()}
    ref = run_kernel(case, torch.float64, ref_weighted_ce)
    _assert_close(fused["bf16_inputs"]["loss"], ref["loss"], "loss")
    for k, g in ref["grads"].items():
        torch.testing.assert_close(fused["bf16_inputs"]["grads"][k], g, rtol=1e-2, atol=1e-3)  # bf16 output


@pytest.mark.parametrize("precision", ["tf32", "bf16"])
def test_opt_in_precisions_run_and_stay_close(fused, precision):
    ref = run_kernel(cases()["symmetric_index"], torch.float64, ref_weighted_ce)
    got = fused[f"precision_{precision}"]
    torch.testing.assert_close(got["loss"], ref["loss"], rtol=2e-2, atol=1e-3)
    for k, g in ref["grads"].items():
        torch.testing.assert_close(got["grads"][k], g, rtol=5e-2, atol=5e-3)


@pytest.mark.parametrize("name", LOSS_CASES)
def test_named_losses_take_the_fused_path(fused, name):
    inputs, _, reference = loss_inputs()[name]
    leaves = [x.clone().requires_grad_() for x in inputs]
    ref = reference(*leaves)
    ref.backward()
    got = fused[name]
    assert got["backward"] == "FusedCEBackward"
    _assert_close(got["loss"], ref.detach(), "loss")
    for k, leaf in enumerate(leaves):
        _assert_close(got["grads"][k], leaf.grad, f"gradient of input {k}")


@pytest.mark.parametrize("name", ERROR_CASES)
def test_overflowing_logits_raise_like_todays_kernel(fused, name):
    with pytest.raises(ValueError, match="overflow float32") as cpu:
        run_kernel(error_inputs()[name], torch.float32)
    assert fused["errors"][name] == str(cpu.value)


def test_soft_weights_are_routed_to_todays_kernel(fused):
    assert fused["weights_routed"] == "_ContrastiveCEBackward"


def test_route_rule(monkeypatch):
    from contrastkit.functional.kernel.fused import route
    from contrastkit.functional.kernel.spec import Spec

    def spec(**kw):
        base = Spec(torch.zeros(2, dtype=torch.long), None, None, None, None, True, False, 2, "mean", False,
                    torch.float32)
        return base._replace(**kw)

    a = torch.zeros(2, 3)
    monkeypatch.delenv("CONTRASTKIT_FUSED", raising=False)
    assert route(a, None, spec()) == "CPU tensors keep today's kernel"
    monkeypatch.setenv("CONTRASTKIT_FUSED", "off")
    assert route(a, None, spec()) == "CONTRASTKIT_FUSED=off"
    monkeypatch.setenv("CONTRASTKIT_FUSED", "interpret")
    assert "float64" in route(a, None, spec(acc_dtype=torch.float64))
    assert "soft weights" in route(a, None, spec(positive_index=None, weights=torch.ones(2, 2)))
    assert "per-anchor" in route(a, None, spec(hard_negatives_per_anchor=True))
    monkeypatch.delenv("TRITON_INTERPRET", raising=False)
    with pytest.raises(RuntimeError, match="TRITON_INTERPRET=1"):
        route(a, None, spec())


def test_the_interpreter_setting_stays_in_the_subprocess(fused):
    assert os.environ.get("TRITON_INTERPRET") != "1"
    assert os.environ.get("CONTRASTKIT_FUSED") != "interpret"


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    worker(sys.argv[1])
