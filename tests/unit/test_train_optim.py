"""The Muon recipe: which parameters each optimiser gets, the shared schedule, a loss that falls,
and an optimiser state that survives a checkpoint."""

from __future__ import annotations

import torch

from gpt.checkpoint import flatten_optimizer_state, unflatten_optimizer_state
from gpt.config import preset
from gpt.model import GPT
from gpt.train.data import split_ids
from gpt.train.optim import MuonWithAdamW, hidden_matrices, make_optimizer
from gpt.train.settings import TrainSettings
from gpt.train.trainer import Trainer

MUON = TrainSettings(optimizer="muon", lr=3e-3, muon_lr=0.02, warmup_iters=2, max_iters=40)


def tiny_model(seed: int = 0) -> GPT:
    torch.manual_seed(seed)
    return GPT(preset("tiny"))


def test_muon_gets_the_blocks_matrices_and_adamw_everything_else() -> None:
    model = tiny_model()
    opt = make_optimizer(model, MUON, "cpu")
    assert isinstance(opt, MuonWithAdamW)
    muon_ids = {id(p) for g in opt.muon.param_groups for p in g["params"]}
    adamw_ids = {id(p) for g in opt.adamw.param_groups for p in g["params"]}
    assert muon_ids == {id(p) for p in hidden_matrices(model)} and not muon_ids & adamw_ids
    assert id(model.wte.weight) in adamw_ids  # the (tied) embedding is no hidden matrix
    assert all(p.dim() == 2 for g in opt.muon.param_groups for p in g["params"])
    everything = muon_ids | adamw_ids
    assert sum(p.numel() for p in model.parameters() if id(p) in everything) == model.num_params()


def test_one_schedule_drives_both_with_their_own_peaks() -> None:
    model = tiny_model()
    trainer = Trainer(
        model, MUON.with_changes(max_iters=5), split_ids(torch.randint(0, 64, (400,))), torch.device("cpu")
    )
    trainer.train()
    muon_group, *adamw_groups = trainer.optimizer.param_groups
    ratio = muon_group["lr"] / adamw_groups[0]["lr"]
    assert abs(ratio - MUON.muon_lr / MUON.lr) < 1e-9


def test_a_muon_run_learns_a_repeating_pattern() -> None:
    ids = torch.tensor([1, 2, 3, 4, 5, 6, 7] * 80)
    model = tiny_model()
    settings = MUON.with_changes(batch_size=8, eval_iters=4, max_iters=120, lr=1e-2, muon_lr=0.05)
    trainer = Trainer(model, settings, split_ids(ids), torch.device("cpu"))
    result = trainer.train()
    assert result.state == "finished"
    assert result.final_losses["val"] < 0.5  # from ln 64 ≈ 4.16: each next token follows from the last


def test_the_muon_state_round_trips_through_a_checkpoints_format() -> None:
    ids = torch.randint(0, 64, (500,))
    model = tiny_model()
    trainer = Trainer(model, MUON.with_changes(max_iters=3, eval_iters=1), split_ids(ids), torch.device("cpu"))
    trainer.train()
    tensors, rest = flatten_optimizer_state(trainer.optimizer_state())
    fresh = make_optimizer(tiny_model(1), MUON, "cpu")
    fresh.load_state_dict(unflatten_optimizer_state(tensors, rest))
    for a, b in ((trainer.optimizer.muon, fresh.muon), (trainer.optimizer.adamw, fresh.adamw)):
        for state_a, state_b in zip(a.state.values(), b.state.values()):
            for name, value in state_a.items():
                assert torch.equal(torch.as_tensor(value), torch.as_tensor(state_b[name])), name


def test_a_model_without_matrices_in_blocks_falls_back_to_adamw() -> None:
    model = tiny_model()
    model.h = torch.nn.ModuleList()  # nothing for Muon to orthogonalise
    assert isinstance(make_optimizer(model, MUON, "cpu"), torch.optim.AdamW)
