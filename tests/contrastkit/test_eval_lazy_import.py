"""`import contrastkit` (and contrastkit.eval) must not load scikit-learn, torchmetrics or Lightning."""

import subprocess
import sys

HEAVY = ("sklearn", "torchmetrics", "lightning", "pytorch_lightning")


def test_import_is_light():
    code = (
        "import sys, contrastkit, contrastkit.eval, contrastkit.functional, contrastkit.distributed; "
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout
