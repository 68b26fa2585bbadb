"""A trained model in use: ``seqrec embed``, ``seqrec recommend`` and
``seqrec export``, end to end on a tiny model trained on a file with sparse item ids, so that
every output is checked in the data's own ids."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from contrastkit.train import read_embeddings
from seqrec.cli import main
from seqrec.data import make_synthetic
from seqrec.runner import load_module


def _original(k: int) -> int:
    """The file's id of dense item ``k`` (sparse on purpose)."""
    return 1000 + 7 * k


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """``(root, checkpoint, exported encoder, {user: [original ids]})`` of a 1-epoch SASRec."""
    root = tmp_path_factory.mktemp("use")
    data = make_synthetic(num_users=60, num_items=25, num_topics=3, seed=0)
    histories = {str(u): [_original(int(i)) for i in s] for u, s in zip(data.user_ids, data.sequences)}
    path = root / "seqs.txt"
    path.write_text("".join(f"{u} {' '.join(map(str, s))}\n" for u, s in histories.items()))
    main(["fit", "--data.dataset", str(path), "--data.batch_size", "32", "--model.method", "sasrec",
          "--model.hidden", "8", "--model.inner", "16", "--max_epochs", "1", "--runs_root", str(root),
          "--name", "m", "--progress", "false"])
    ckpt = root / "seqrec" / "m" / "version_0" / "checkpoints" / "last.ckpt"
    exported = main(["export", "--ckpt_path", str(ckpt), "--runs_root", str(root)])
    return root, ckpt, exported, histories


def _rows(run_dir) -> list[dict[str, str]]:
    with open(f"{run_dir}/recommendations.csv") as f:
        return list(csv.DictReader(f))


def test_embed_writes_items_and_users_in_the_datas_ids(trained):
    root, ckpt, _, histories = trained
    run = main(["embed", "--ckpt_path", str(ckpt), "--users", "true", "--runs_root", str(root)])
    items, item_ids = read_embeddings(f"{run}/embeddings.npy")
    users, user_ids = read_embeddings(f"{run}/users.npy")
    item_ids = [int(i) for i in item_ids]
    module, _ = load_module(ckpt)
    assert items.shape == (len(item_ids), 8) and users.shape == (len(histories), 8)
    assert sorted(item_ids) == sorted({i for s in histories.values() for i in s})
    np.testing.assert_array_equal(items, module.encoder.item_table().detach().numpy())
    # a user's row is the encoder's representation of that user's whole history
    u = user_ids[5]
    seq = torch.tensor([[item_ids.index(i) + 1 for i in histories[u]]])
    with torch.no_grad():
        expected = module.encoder.represent(seq, torch.tensor([seq.shape[1]]))[0].numpy()
    np.testing.assert_allclose(users[5], expected, rtol=1e-5, atol=1e-6)


def test_exported_encoder_gives_the_checkpoints_embeddings(trained):
    root, ckpt, exported, _ = trained
    assert exported.endswith("encoder.safetensors")
    meta = json.loads(Path(exported.replace(".safetensors", ".json")).read_text())
    assert meta["class"] == "SASRecEncoder" and meta["config"]["hidden"] == 8
    a = main(["embed", "--ckpt_path", str(ckpt), "--users", "true", "--runs_root", str(root), "--name", "a"])
    b = main(["embed", "--ckpt_path", exported, "--users", "true", "--runs_root", str(root), "--name", "b"])
    for name in ("embeddings", "users"):
        np.testing.assert_array_equal(np.load(f"{a}/{name}.npy"), np.load(f"{b}/{name}.npy"))
        assert json.loads(Path(f"{a}/{name}.ids.json").read_text())["ids"] == \
            json.loads(Path(f"{b}/{name}.ids.json").read_text())["ids"]


def test_recommend_for_the_datas_users(trained, capsys):
    root, ckpt, exported, histories = trained
    run = main(["recommend", "--ckpt_path", str(ckpt), "--k", "5", "--runs_root", str(root)])
    out = capsys.readouterr().out
    assert out.strip().splitlines()[-1] == f"run: {run}  metrics: {run}/metrics.json"
    rows = _rows(run)
    assert len(rows) == 5 * len(histories) and list(rows[0]) == ["user", "rank", "item", "score"]
    module, _ = load_module(ckpt)
    item_ids = json.loads((ckpt.parents[1] / "item_ids.json").read_text())
    for user, history in histories.items():
        mine = [r for r in rows if r["user"] == user]
        assert [int(r["rank"]) for r in mine] == [1, 2, 3, 4, 5]
        scores = [float(r["score"]) for r in mine]
        assert scores == sorted(scores, reverse=True)
        assert not {int(r["item"]) for r in mine} & set(history)  # the history is excluded
    # the top item of one user, computed independently
    user, history = next(iter(histories.items()))
    seq = torch.tensor([[item_ids.index(i) + 1 for i in history]])
    with torch.no_grad():
        s = module.encoder.represent(seq, torch.tensor([seq.shape[1]]))[0] @ module.encoder.item_table().T
    s[[item_ids.index(i) for i in history]] = -float("inf")
    assert int(next(r for r in rows if r["user"] == user)["item"]) == item_ids[int(s.argmax())]
    # the exported encoder recommends the same
    again = main(["recommend", "--ckpt_path", exported, "--k", "5", "--runs_root", str(root)])
    assert _rows(again) == rows


def test_a_checkpoint_written_before_classes_were_recorded_recommends_the_same(trained):
    """Such a checkpoint names its method in the ``_class_name`` hyper-parameter."""
    from contrastkit.train import load_checkpoint
    from contrastkit.train.checkpoint import CLASS_KEY
    from seqrec.baselines import SASRec

    root, ckpt, _, _ = trained
    old = load_checkpoint(ckpt)
    assert old.pop(CLASS_KEY)["module"] == "seqrec.baselines:SASRec" and "_class_name" not in old["hyper_parameters"]
    old["hyper_parameters"]["_class_name"] = "SASRec"
    older = ckpt.with_name("older.ckpt")
    torch.save(old, older)
    (module, data), (again, same_data) = load_module(ckpt), load_module(older)
    assert type(again) is SASRec and data == same_data and data.dataset.endswith("seqs.txt")
    for key, value in module.state_dict().items():
        assert torch.equal(again.state_dict()[key], value), key
    a = main(["recommend", "--ckpt_path", str(ckpt), "--k", "3", "--runs_root", str(root), "--name", "new"])
    b = main(["recommend", "--ckpt_path", str(older), "--k", "3", "--runs_root", str(root), "--name", "old"])
    assert _rows(a) == _rows(b)
    del old["hyper_parameters"]["_class_name"]
    torch.save(old, older)
    with pytest.raises(ValueError, match=re.escape(str(older)) + r": records no model class .*its hyper-parameters: "
                                         r"\(num_items, max_len, hidden, "):
        load_module(older)


def test_recommend_for_a_given_history(trained, tmp_path):
    root, ckpt, _, histories = trained
    history = next(iter(histories.values()))[:4]
    run = main(["recommend", "--ckpt_path", str(ckpt), "--k", "3", "--history", json.dumps(history),
                "--runs_root", str(root)])
    rows = _rows(run)
    assert [r["user"] for r in rows] == ["history"] * 3 and not {int(r["item"]) for r in rows} & set(history)
    listed = tmp_path / "h.txt"
    listed.write_text(f"alice {' '.join(map(str, history))}\n\nbob {history[0]}\n")
    rows = _rows(main(["recommend", "--ckpt_path", str(ckpt), "--k", "3", "--history_file", str(listed),
                       "--runs_root", str(root)]))
    assert [r["user"] for r in rows] == ["alice"] * 3 + ["bob"] * 3


def test_recommend_names_an_unknown_item_with_file_and_line(trained, tmp_path):
    root, ckpt, _, _ = trained
    listed = tmp_path / "h.txt"
    listed.write_text(f"alice {_original(1)}\nbob {_original(2)} 5\n")
    with pytest.raises(ValueError, match=re.escape(f"{listed}:2: item id(s) 5 not among")):
        main(["recommend", "--ckpt_path", str(ckpt), "--history_file", str(listed), "--runs_root", str(root)])
    with pytest.raises(ValueError, match=r"--history: item id\(s\) 3 not among"):
        main(["recommend", "--ckpt_path", str(ckpt), "--history", "[3]", "--runs_root", str(root)])
    with pytest.raises(ValueError, match="user\\(s\\) nobody not in"):
        main(["recommend", "--ckpt_path", str(ckpt), "--users", "[nobody]", "--runs_root", str(root)])
    assert not (root / "seqrec" / "recommend").exists() or all(
        (v / "recommendations.csv").is_file() for v in (root / "seqrec" / "recommend").iterdir())
