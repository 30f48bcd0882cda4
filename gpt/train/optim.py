"""The optimisers a run can use: AdamW alone (nanoGPT's recipe), or Muon for the hidden matrices.

Muon (``torch.optim.Muon``, PyTorch >= 2.9) orthogonalises the momentum of each 2-D weight with a
few Newton-Schulz steps, so every direction of the matrix moves at a similar rate; the modded-nanoGPT
speedrun uses it for the transformer's hidden matrices and keeps AdamW for the embeddings, the
output head and the 1-D gains and biases, which is what ``MuonWithAdamW`` does.

Every parameter group carries ``lr_scale``: its peak learning rate divided by the run's ``lr``, so
the one schedule (``gpt.train.trainer.lr_at``) drives both optimisers.
"""

from __future__ import annotations

from typing import Any

import torch

from gpt.model import GPT
from gpt.train.settings import TrainSettings


def _adamw_groups(params: list[torch.nn.Parameter], cfg: TrainSettings) -> list[dict[str, Any]]:
    """Two groups: matrices decay (as nanoGPT), 1-D biases and LayerNorm gains do not."""
    decay = [p for p in params if p.dim() >= 2]
    no_decay = [p for p in params if p.dim() < 2]
    return [
        {"params": decay, "weight_decay": cfg.weight_decay, "lr_scale": 1.0},
        {"params": no_decay, "weight_decay": 0.0, "lr_scale": 1.0},
    ]


def _adamw(groups: list[dict[str, Any]], cfg: TrainSettings, device_type: str) -> torch.optim.AdamW:
    # CUDA: the fused kernel does the whole update in one launch. CPU: the default multi-tensor
    # (foreach) update measured as fast as fused=True, and fused pulls in a slow import.
    fused = {"fused": True} if device_type == "cuda" else {}
    return torch.optim.AdamW(groups, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), **fused)


def hidden_matrices(model: GPT) -> list[torch.nn.Parameter]:
    """The 2-D weights inside the blocks (attention and MLP): Muon's share of the model."""
    return [p for p in model.h.parameters() if p.requires_grad and p.dim() == 2]


class MuonWithAdamW:
    """Muon for the hidden matrices, AdamW for everything else, seen as one optimiser.

    ``param_groups`` lists Muon's group first; ``state_dict`` numbers the parameters across both
    (Muon's first), so a checkpoint stores it like any torch optimiser's.
    """

    def __init__(self, model: GPT, cfg: TrainSettings, device_type: str) -> None:
        hidden = hidden_matrices(model)
        hidden_ids = {id(p) for p in hidden}
        rest = [p for p in model.parameters() if p.requires_grad and id(p) not in hidden_ids]
        muon_group = {"params": hidden, "weight_decay": cfg.weight_decay, "lr_scale": cfg.muon_lr / cfg.lr}
        # "match_rms_adamw" scales each matrix's step to AdamW's size, so muon_lr is read like an AdamW lr.
        self.muon = torch.optim.Muon([muon_group], lr=cfg.muon_lr, adjust_lr_fn="match_rms_adamw")
        self.adamw = _adamw(_adamw_groups(rest, cfg), cfg, device_type)

    @property
    def param_groups(self) -> list[dict[str, Any]]:
        return self.muon.param_groups + self.adamw.param_groups

    def step(self) -> None:
        self.muon.step()
        self.adamw.step()

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.muon.zero_grad(set_to_none=set_to_none)
        self.adamw.zero_grad(set_to_none=set_to_none)

    def state_dict(self) -> dict[str, Any]:
        muon, adamw = self.muon.state_dict(), self.adamw.state_dict()
        offset = sum(len(g["params"]) for g in muon["param_groups"])
        state = dict(muon["state"])
        state.update({pid + offset: slots for pid, slots in adamw["state"].items()})
        shifted = [{**g, "params": [pid + offset for pid in g["params"]]} for g in adamw["param_groups"]]
        return {"state": state, "param_groups": muon["param_groups"] + shifted}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        n_muon_groups = len(self.muon.param_groups)
        muon_groups = state["param_groups"][:n_muon_groups]
        adamw_groups = state["param_groups"][n_muon_groups:]
        offset = sum(len(g["params"]) for g in muon_groups)
        slots = {int(pid): value for pid, value in state["state"].items()}
        self.muon.load_state_dict(
            {"state": {pid: v for pid, v in slots.items() if pid < offset}, "param_groups": muon_groups}
        )
        self.adamw.load_state_dict(
            {
                "state": {pid - offset: v for pid, v in slots.items() if pid >= offset},
                "param_groups": [{**g, "params": [pid - offset for pid in g["params"]]} for g in adamw_groups],
            }
        )


def make_optimizer(model: GPT, cfg: TrainSettings, device_type: str) -> torch.optim.Optimizer | MuonWithAdamW:
    """The run's optimiser: ``cfg.optimizer`` is "adamw" (nanoGPT's recipe) or "muon"."""
    if cfg.optimizer == "muon" and hidden_matrices(model):  # a model with no blocks has nothing for Muon
        return MuonWithAdamW(model, cfg, device_type)
    params = [p for p in model.parameters() if p.requires_grad]  # the tied lm_head appears once
    return _adamw(_adamw_groups(params, cfg), cfg, device_type)
