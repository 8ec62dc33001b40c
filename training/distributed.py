"""Process-group setup for one process, `deepspeed` launcher ranks, or `torchrun`-style env vars.

On a machine without CUDA, DeepSpeed runs on its CPU accelerator (`DS_ACCELERATOR=cpu`) over gloo;
with CUDA, over NCCL with one GPU per process.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass


@dataclass(frozen=True)
class World:
    """This process's place: rank, world size, local rank and torch device."""

    rank: int
    size: int
    local_rank: int
    device: str  # "cpu" or "cuda:N"

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def device_type(self) -> str:
        return self.device.split(":")[0]


WORLD_VARS = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now (another process may take it before it is bound)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch_env(**extra: str) -> dict[str, str]:
    """The environment for a process started from this one as a rank of another world: this process's
    environment without its own world variables (a one-rank world sets them in `init_world`), plus `extra`."""
    env = {k: v for k, v in os.environ.items() if k not in WORLD_VARS}
    env.update(extra)
    return env


def init_world() -> World:
    """Initialize the default process group once (idempotent) and return this process's place."""
    import torch

    cuda = torch.cuda.is_available()
    if not cuda:
        os.environ.setdefault("DS_ACCELERATOR", "cpu")
    own_port = "RANK" not in os.environ and not os.environ.get("MASTER_PORT")
    if "RANK" not in os.environ:  # a plain single process: give DeepSpeed a one-rank world
        os.environ.update(RANK="0", WORLD_SIZE="1", LOCAL_RANK="0", MASTER_ADDR="127.0.0.1",
                          MASTER_PORT=os.environ.get("MASTER_PORT") or str(free_port()))
    import deepspeed
    import torch.distributed as dist

    _quiet_deepspeed()
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if cuda:
        torch.cuda.set_device(local_rank)
    if not dist.is_initialized():
        for attempt in range(5):
            try:
                deepspeed.init_distributed(dist_backend="nccl" if cuda else "gloo", auto_mpi_discovery=False)
                break
            except Exception as e:  # noqa: BLE001 - only a port taken meanwhile is retried
                # A one-rank world picked a free port, released it, and another process took it
                # before the store bound it: pick another. A launcher's port is its to choose.
                if not own_port or attempt == 4 or "EADDRINUSE" not in str(e):
                    raise
                os.environ["MASTER_PORT"] = str(free_port())
    device = f"cuda:{local_rank}" if cuda else "cpu"
    return World(rank=dist.get_rank(), size=dist.get_world_size(), local_rank=local_rank, device=device)


def _quiet_deepspeed() -> None:
    import logging

    from deepspeed.utils import logger

    logger.setLevel(logging.WARNING)


def all_sum(values, device: str) -> list[float]:
    """Sum a few floats (a list, or a tensor already on `device`) over all ranks, in float64."""
    import torch
    import torch.distributed as dist

    t = torch.as_tensor(values, dtype=torch.float64, device=device)
    if dist.is_initialized() and dist.get_world_size() > 1:
        dist.all_reduce(t)
    return t.tolist()
