"""Orthogonal noise: one target vector z drives every generator through disjoint row blocks of
one fixed random orthogonal matrix (patent [0012]), so the noise inputs of any two generators are
orthogonal and each is N(0, I) when z is.
"""
from __future__ import annotations

import hashlib
from typing import Sequence

import torch
from torch import Tensor, nn

__all__ = ["OrthogonalNoise", "orthogonal_matrix"]


def orthogonal_matrix(dim: int, seed: int) -> Tensor:
    """A Haar-random (dim, dim) orthogonal matrix in float64, reproducible from ``seed`` (QR of a
    seeded Gaussian matrix with the signs of R's diagonal moved into Q)."""
    if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
        raise ValueError(f"dim: expected a positive integer, got {dim!r}")
    gaussian = torch.randn(dim, dim, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    q, r = torch.linalg.qr(gaussian)
    return q * torch.sign(torch.diagonal(r)).where(torch.diagonal(r) != 0, torch.ones(()))


class OrthogonalNoise(nn.Module):
    """Maps a target vector z (N, dim) to per-generator noises z_i = P_i z (N, block_dim).

    The P_i are disjoint row blocks of :func:`orthogonal_matrix`: P_i P_j^T = 0 for i != j and
    P_i P_i^T = I, so a change of z inside one block's row space reaches only that generator.
    The matrix is a buffer: it is saved and loaded with the model.
    """

    projection: Tensor  # buffer (N blocks, block_dim, dim), registered in __init__

    def __init__(self, names: Sequence[str], block_dim: int, dim: int | None = None, *, seed: int = 0) -> None:
        super().__init__()
        names = list(names)
        if len(set(names)) != len(names) or not names:
            raise ValueError(f"names: expected distinct generator names, got {names}")
        total = block_dim * len(names)
        dim = total if dim is None else dim
        if dim < total:
            raise ValueError(
                f"z_dim: {dim} is too small for {len(names)} orthogonal blocks of {block_dim} (needs >= {total})"
            )
        self.names = names
        self.block_dim = block_dim
        self.dim = dim
        self.seed = seed
        rows = orthogonal_matrix(dim, seed)[:total].to(torch.float32)
        self.register_buffer("projection", rows.view(len(names), block_dim, dim).contiguous())

    def forward(self, z: Tensor) -> dict[str, Tensor]:
        """{name: z_i} for a batch of target vectors ``z`` of shape (N, dim)."""
        if z.ndim != 2 or z.shape[1] != self.dim:
            raise ValueError(f"z: expected shape (N, {self.dim}), got {tuple(z.shape)}")
        blocks = torch.einsum("nd,gkd->gnk", z.to(self.projection.dtype), self.projection)
        return dict(zip(self.names, blocks))

    def direction(self, name: str) -> Tensor:
        """The (block_dim, dim) rows of ``name``: z + rows.T @ d changes only that generator's noise."""
        return self.projection[self.names.index(name)]

    def checksum(self) -> str:
        """sha256 of the projection matrix (float32 bytes), to check a reloaded model."""
        return hashlib.sha256(self.projection.detach().cpu().contiguous().numpy().tobytes()).hexdigest()
