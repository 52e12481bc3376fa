"""Procedural street scenes with CamVid label maps: a default data set that needs no download.

Each scene is a forward-facing road view drawn with a pinhole camera: a sky with clouds, buildings
with windows and shop fronts along both sides, a road with lane paint converging to a vanishing
point, pavements, trees, poles, signs, an optional fence, cars, pedestrians and bicyclists. Colours,
layout, counts and lighting all come from ``numpy.random.default_rng(seed)``, so a seed always gives
byte-identical output. Geometry is drawn at 2x and downsampled with INTER_AREA (labels: nearest),
then per-class texture noise is added so images carry realistic high-frequency content.
"""
from __future__ import annotations

import math
from functools import partial
from typing import TYPE_CHECKING, Callable

import cv2
import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from .classes import CamVidClass as C

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

_SS = 2  # supersampling factor
_SHIFT = 3  # fractional bits for cv2 drawing (sub-pixel vertex precision)
_ONE = float(1 << _SHIFT)
_MIN_SIZE = 32
_SEED_STRIDE = 1_000_003

# Per-class amplitude of pixel noise and of low-frequency blotches (0..255 units), indexed by class id.
_PIXEL_NOISE = np.array([1.2, 5.0, 3.0, 4.5, 5.0, 11.0, 2.5, 4.0, 3.0, 4.0, 4.0, 3.0], np.float32)
_BLOTCH_NOISE = np.array([1.5, 3.5, 1.5, 3.0, 3.5, 8.0, 1.5, 3.0, 1.5, 2.0, 2.0, 1.5], np.float32)

_BUILDING_COLOURS = np.array(
    [
        (150, 80, 60),  # red brick
        (120, 70, 55),  # dark brick
        (200, 185, 150),  # sandstone
        (215, 210, 195),  # cream render
        (165, 160, 155),  # grey concrete
        (230, 228, 220),  # white render
        (175, 145, 110),  # buff brick
        (110, 105, 100),  # dark stone
        (190, 120, 90),  # terracotta
    ],
    np.float32,
)
_CAR_COLOURS = np.array(
    [
        (200, 200, 205),
        (30, 30, 35),
        (150, 20, 25),
        (25, 45, 110),
        (120, 125, 130),
        (235, 235, 235),
        (60, 80, 60),
        (170, 140, 60),
        (90, 30, 60),
    ],
    np.float32,
)
_CLOTHES = np.array(
    [(30, 30, 35), (50, 60, 90), (120, 30, 35), (90, 90, 95), (160, 150, 130), (40, 70, 50), (200, 200, 200)],
    np.float32,
)
_SKIN = np.array([(225, 190, 160), (190, 140, 105), (120, 85, 60), (235, 205, 180)], np.float32)


def _check_size(size: tuple[int, int]) -> tuple[int, int]:
    """Return ``size`` as (H, W) ints, each at least 32, else ValueError."""
    try:
        h, w = size
        ok = all(not isinstance(v, bool) and int(v) == v and v >= _MIN_SIZE for v in (h, w))
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(f"size: expected (height, width) with two ints >= {_MIN_SIZE}, got {size!r}")
    return int(h), int(w)


def _check_seed(seed: int, name: str = "seed") -> int:
    """Return ``seed`` if it is an int >= 0 (what numpy's default_rng accepts), else ValueError."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"{name}: expected an int >= 0, got {seed!r}")
    return int(seed)


def _between(rng: np.random.Generator, lo: float, hi: float) -> float:
    """Uniform draw in [lo, hi], collapsing to ``lo`` when the range is empty (extreme aspect ratios)."""
    return float(rng.uniform(lo, max(lo, hi)))


def _tup(c: np.ndarray | tuple) -> tuple[float, float, float]:
    """Colour as a plain float tuple clipped to 0..255 (what cv2 drawing functions want)."""
    return tuple(min(max(float(v), 0.0), 255.0) for v in c)  # type: ignore[return-value]


class _Street:
    """One scene being drawn: 2x canvas, label canvas, camera and street layout."""

    def __init__(self, height: int, width: int, rng: np.random.Generator) -> None:
        self.h, self.w = height, width
        self.H, self.W = height * _SS, width * _SS
        self.rng = rng
        u = rng.uniform
        self.img = np.empty((self.H, self.W, 3), np.uint8)
        self.lab = np.empty((self.H, self.W), np.uint8)
        # Camera: focal length, vanishing point, camera height (metres).
        self.f = min(self.W, self.H * 4 / 3) * u(0.75, 1.05)  # ~4:3 field of view for any aspect
        self.vx = self.W * (0.5 + u(-0.1, 0.1))
        self.hy = self.H * u(0.36, 0.5)
        self.hc = u(1.3, 1.7)
        self.z_min = self.f * self.hc / (self.H - self.hy)  # ground depth at the bottom row
        self.z_far = u(150.0, 300.0)
        # Street: camera in the left lane (UK-style), pavements, building lines.
        self.lane_w = u(2.8, 3.6)
        self.n_lanes = int(rng.choice([2, 2, 2, 3]))
        self.xl = -(self.lane_w / 2 + u(0.0, 0.6))
        self.xr = self.xl + self.n_lanes * self.lane_w
        self.bl = self.xl - u(1.5, 4.5)
        self.br = self.xr + u(1.5, 4.5)
        # Lighting and palette.
        self.weather = int(rng.choice([0, 1, 1, 2]))  # 0 clear, 1 overcast, 2 hazy/bright
        if self.weather == 0:
            self.sky_top = np.array([u(50, 90), u(100, 140), u(180, 230)], np.float32)
            self.sky_hor = np.array([u(170, 200), u(195, 215), u(220, 240)], np.float32)
        elif self.weather == 1:
            g = u(140, 190)
            self.sky_top = np.array([g, g + u(0, 8), g + u(5, 18)], np.float32)
            g = u(200, 235)
            self.sky_hor = np.array([g, g, g + u(0, 8)], np.float32)
        else:
            g = u(215, 245)
            self.sky_top = np.array([g - u(10, 30), g - u(5, 20), g], np.float32)
            self.sky_hor = np.array([g, g, g], np.float32)
        self.haze_col = self.sky_hor * u(0.85, 1.0)
        self.haze_t = tuple(float(v) for v in self.haze_col)
        self.haze_dist = u(120.0, 400.0)
        self.sun_side = int(rng.choice([-1, 1]))
        self.shade = u(0.55, 0.85)  # brightness of the shaded facade side / cast shadows

    # ---------------------------------------------------------------- geometry helpers
    def proj(self, x: ArrayLike, y: ArrayLike, z: ArrayLike) -> np.ndarray:
        """Project world points (X right, Y up from the ground, Z forward; metres) to 2x pixels (..., 2)."""
        x, y, z = np.asarray(x, np.float64), np.asarray(y, np.float64), np.asarray(z, np.float64)
        out = np.empty(np.broadcast(x, y, z).shape + (2,))
        out[..., 0] = self.vx + self.f * x / z
        out[..., 1] = self.hy + self.f * (self.hc - y) / z
        return out

    def pt(self, x: float, y: float, z: float) -> tuple[float, float]:
        """Project one world point (scalar fast path of :meth:`proj`)."""
        return (self.vx + self.f * x / z, self.hy + self.f * (self.hc - y) / z)

    def px(self, metres: float, z: float) -> float:
        """Length in 2x pixels of ``metres`` seen face-on at depth ``z``."""
        return self.f * metres / z

    def haze(self, colour: np.ndarray | tuple, z: float) -> tuple[float, float, float]:
        """Blend ``colour`` toward the horizon haze by distance ``z`` (aerial perspective)."""
        a = 1.0 - math.exp(-z / self.haze_dist)
        b = 1.0 - a
        h = self.haze_t
        return (
            min(max(float(colour[0]) * b + h[0] * a, 0.0), 255.0),
            min(max(float(colour[1]) * b + h[1] * a, 0.0), 255.0),
            min(max(float(colour[2]) * b + h[2] * a, 0.0), 255.0),
        )

    def fill(self, polys: list[np.ndarray] | np.ndarray, colour: tuple, cls: int) -> None:
        """Fill 2x-pixel polygons (one (k, 2) array, a list of them, or an (n, k, 2) array) on image and labels."""
        if isinstance(polys, np.ndarray):
            arr = np.rint(polys * _ONE).astype(np.int32)
            pts = [arr] if arr.ndim == 2 else list(arr)
        else:
            pts = [np.rint(np.asarray(p) * _ONE).astype(np.int32) for p in polys]
        if not pts:
            return
        cv2.fillPoly(self.img, pts, colour, cv2.LINE_8, _SHIFT)
        cv2.fillPoly(self.lab, pts, int(cls), cv2.LINE_8, _SHIFT)

    def disc(self, centre: np.ndarray | tuple[float, float], radius: float, colour: tuple, cls: int) -> None:
        """Filled circle in 2x pixels on image and labels."""
        c = (int(round(centre[0] * _ONE)), int(round(centre[1] * _ONE)))
        r = max(int(round(radius * _ONE)), int(_ONE * 0.6))
        cv2.circle(self.img, c, r, colour, -1, cv2.LINE_8, _SHIFT)
        cv2.circle(self.lab, c, r, int(cls), -1, cv2.LINE_8, _SHIFT)

    def segment(self, a: np.ndarray | tuple, b: np.ndarray | tuple, width: float, colour: tuple, cls: int) -> None:
        """Thick line from ``a`` to ``b`` (2x pixels) drawn as a quad at least ~1.2 px wide."""
        ax, ay, bx, by = float(a[0]), float(a[1]), float(b[0]), float(b[1])
        n = math.hypot(bx - ax, by - ay)
        half = max(width, 1.2) / 2
        if n < 1e-6:
            self.disc((ax, ay), half, colour, cls)
            return
        ox, oy = -(by - ay) / n * half, (bx - ax) / n * half
        quad = np.array([[ax + ox, ay + oy], [bx + ox, by + oy], [bx - ox, by - oy], [ax - ox, ay - oy]])
        self.fill(quad, colour, cls)

    def vbar(self, x: float, z: float, y0: float, y1: float, half: float, colour: tuple, cls: int) -> None:
        """Vertical world bar (pole, trunk, post) at (x, z) from height y0 to y1, half-width ``half`` m."""
        (x0, v0), (_, v1) = self.pt(x, y0, z), self.pt(x, y1, z)
        hw = max(self.px(half, z), 0.6)
        self.fill(np.array([[x0 - hw, v0], [x0 + hw, v0], [x0 + hw, v1], [x0 - hw, v1]]), colour, cls)

    def strips(self, x0: float, x1: float, zs: np.ndarray, dz: np.ndarray | float, colour: tuple, cls: int) -> None:
        """Many ground rectangles x0..x1 x [z, z + dz] in one call (paint dashes, slab joints)."""
        zs = np.asarray(zs, np.float64)
        if zs.size == 0:
            return
        z1 = zs + dz
        xs = np.array([x0, x1, x1, x0])
        self.fill(self.proj(xs[None, :], 0.0, np.stack([zs, zs, z1, z1], 1)), colour, cls)

    def face(self, x0: float, x1: float, y0: float, y1: float, z: float, colour: tuple, cls: int) -> None:
        """Camera-facing rectangle at depth z spanning x0..x1, y0..y1 (metres)."""
        k = self.f / z
        u0, u1 = self.vx + k * x0, self.vx + k * x1
        v0, v1 = self.hy + k * (self.hc - y0), self.hy + k * (self.hc - y1)
        self.fill(np.array([[u0, v0], [u1, v0], [u1, v1], [u0, v1]]), colour, cls)

    def side(self, x: float, z0: float, z1: float, y0: float, y1: float, colour: tuple, cls: int) -> None:
        """Rectangle in the plane X = x (parallel to the street) spanning depths z0..z1, heights y0..y1."""
        k0, k1 = self.f / z0, self.f / z1
        u0, u1 = self.vx + k0 * x, self.vx + k1 * x
        d0, d1 = self.hc - y0, self.hc - y1
        quad = [[u0, self.hy + k0 * d0], [u1, self.hy + k1 * d0], [u1, self.hy + k1 * d1], [u0, self.hy + k0 * d1]]
        self.fill(np.array(quad), colour, cls)

    def ground(self, x0: float, x1: float, z0: float, z1: float, colour: tuple, cls: int) -> None:
        """Ground-plane rectangle spanning x0..x1 and depths z0..z1."""
        k0, k1 = self.f / z0, self.f / z1
        v0, v1 = self.hy + k0 * self.hc, self.hy + k1 * self.hc
        quad = [[self.vx + k0 * x0, v0], [self.vx + k0 * x1, v0], [self.vx + k1 * x1, v1], [self.vx + k1 * x0, v1]]
        self.fill(np.array(quad), colour, cls)

    def wheel(self, x: float, zc: float, r: float, colour: tuple, cls: int, n: int = 14) -> None:
        """Disc of radius r in the plane X = x (a wheel seen from the side), centred at height r."""
        a = np.linspace(0, 2 * np.pi, n, endpoint=False)
        self.fill([self.proj(x, r + r * np.sin(a), zc + r * np.cos(a))], colour, cls)

    # ---------------------------------------------------------------- scene parts
    def sky(self) -> None:
        """Vertical gradient with low-frequency clouds over every row down to the horizon (made at 1x)."""
        rng, u = self.rng, self.rng.uniform
        rows = min(self.H, int(math.ceil(self.hy)) + 2)
        rows1, w1 = (rows + 1) // 2 + 1, self.w
        y = (np.arange(rows1, dtype=np.float32) * 2 + 0.5) / max(self.hy, 1.0)
        t = np.clip(y, 0, 1)[:, None, None] ** 0.7
        grad = self.sky_top * (1 - t) + self.sky_hor * t  # (rows1, 1, 3)
        coarse = rng.standard_normal((3, 5)).astype(np.float32)
        fine = rng.standard_normal((7, 11)).astype(np.float32)
        c: np.ndarray = cv2.resize(coarse, (w1, rows1), interpolation=cv2.INTER_CUBIC)
        c += 0.5 * cv2.resize(fine, (w1, rows1), interpolation=cv2.INTER_CUBIC)
        cover, soft = (u(0.0, 0.9), u(0.5, 1.0)) if self.weather == 0 else (u(0.6, 1.6), u(0.3, 0.6))
        c = np.clip((c + cover - 1.0) * soft, 0.0, 1.0)[:, :, None]
        cloud = np.float32(u(200, 250)) if self.weather == 0 else self.sky_hor.mean() * np.float32(u(0.8, 1.05))
        sky1 = np.clip(grad * (1 - c) + cloud * c, 0, 255).astype(np.uint8)
        self.img[:rows] = cv2.resize(sky1, (self.W, rows1 * 2), interpolation=cv2.INTER_LINEAR)[:rows]
        self.lab[:rows] = C.SKY

    def ground_plane(self) -> None:
        """Pavement everywhere below the horizon, the road, kerbs, lane paint and patches; plans the shadow."""
        rng, u = self.rng, self.rng.uniform
        top = int(math.floor(self.hy))
        pave = np.array([u(140, 190)] * 3, np.float32) + np.array([u(-5, 10), u(-5, 5), u(-10, 0)], np.float32)
        road = np.array([u(70, 110)] * 3, np.float32) + np.array([u(-4, 4), u(-4, 2), u(0, 8)], np.float32)
        self.img[top:] = _tup(pave)
        self.lab[top:] = C.PAVEMENT
        zn, zf = self.z_min * 0.8, self.z_far * 4
        self.ground(self.xl, self.xr, zn, zf, _tup(road), C.ROAD)
        # Kerb stones, lighter than the pavement, on both road edges.
        kerb = _tup(pave * 1.12 + 10)
        self.ground(self.xl - 0.18, self.xl, zn, zf, kerb, C.PAVEMENT)
        self.ground(self.xr, self.xr + 0.18, zn, zf, kerb, C.PAVEMENT)
        # Pavement slab joints near the camera (at least ~0.8 px thick).
        joint = _tup(pave * 0.85)
        for x0, x1 in ((self.bl, self.xl - 0.18), (self.xr + 0.18, self.br)):
            zs = self.z_min * 0.8 + u(0, 1.5) + np.arange(0, 20, u(1.2, 1.8))
            self.strips(x0, x1, zs, np.maximum(0.05, 0.8 * zs**2 / (self.f * self.hc)), joint, C.PAVEMENT)
        # Asphalt repair patches and manholes.
        for _ in range(int(rng.integers(0, 5))):
            z0 = _between(rng, self.z_min, 40)
            x0 = u(self.xl, self.xr - 1)
            self.ground(x0, x0 + u(0.5, 2.5), z0, z0 + u(0.5, 4), _tup(road * u(0.75, 1.2)), C.ROAD)
        # Lane paint (still road): dashed centre lines, edge lines, double yellow, zebra crossing.
        white = _tup((u(200, 240),) * 3)
        yellow = _tup((u(200, 230), u(170, 200), u(40, 80)))
        lw = u(0.1, 0.15)
        dash, gap = u(2.0, 4.0), u(4.0, 9.0)
        z_paint = min(self.z_far, self.f * lw / 0.5)  # beyond this, paint is under half a pixel wide
        for k in range(1, self.n_lanes):
            xc = self.xl + k * self.lane_w
            zs = self.z_min * 0.7 + u(0, dash + gap) + np.arange(0, z_paint, dash + gap)
            self.strips(xc - lw / 2, xc + lw / 2, zs, dash, white, C.ROAD)
        if rng.random() < 0.5:
            self.ground(self.xr - 0.3 - lw, self.xr - 0.3, zn, z_paint, white, C.ROAD)
        if rng.random() < 0.45:
            for dx in (0.25, 0.45):
                self.ground(self.xl + dx, self.xl + dx + lw * 0.8, zn, z_paint, yellow, C.ROAD)
        if rng.random() < 0.2:  # zebra crossing
            zc = _between(rng, max(self.z_min * 1.5, 6), 25)
            zx0 = np.arange(self.xl, self.xr - 0.25, 1.0)
            zx1 = np.minimum(zx0 + 0.5, self.xr)
            xs = np.stack([zx0, zx1, zx1, zx0], 1)
            self.fill(self.proj(xs, 0.0, np.array([zc, zc, zc + 3.0, zc + 3.0])), white, C.ROAD)
        # Shadow cast over part of the pavement and road by the buildings on the shaded side; it is
        # applied (with the ground's aerial perspective) at 1x in finish(), to ground pixels only.
        self.shadow: np.ndarray | None = None
        if rng.random() < 0.55:
            if self.sun_side > 0:  # right facades lit (sun from the left): left buildings cast the shadow
                x0, x1 = self.bl - 1, self.bl + u(2, 12)
            else:
                x0, x1 = self.br - u(2, 12), self.br + 1
            self.shadow = self.proj([x0, x1, x1, x0], 0.0, [zn, zn, zf, zf])

    def buildings(self) -> None:
        """Distant skyline at the end of the street, then facade segments along both building lines."""
        rng, u = self.rng, self.rng.uniform
        zb = self.z_far
        # Skyline closing the street: camera-facing blocks and a few tree blobs.
        x = self.bl - 60
        while x < self.br + 60:
            wdt = u(4, 15)
            col = _BUILDING_COLOURS[rng.integers(len(_BUILDING_COLOURS))] * u(0.8, 1.0)
            self.face(x, x + wdt, 0.0, u(4, 24), zb, self.haze(col, zb), C.BUILDING)
            x += wdt
        for _ in range(int(rng.integers(0, 4))):
            p = self.pt(u(self.bl - 20, self.br + 20), u(2, 8), zb * 0.95)
            self.disc(p, self.px(u(3, 7), zb), self.haze((u(40, 80), u(70, 100), u(30, 60)), zb), C.TREE)
        segs = []
        for side, base in ((-1, self.bl), (1, self.br)):
            # Start just before the facade enters the frame; segments get longer with depth.
            edge = self.vx if side < 0 else self.W - self.vx
            z = max(1.0, 0.7 * self.f * abs(base) / edge)
            while z < self.z_far:
                z2 = min(z + u(5, 16) * max(1.0, z / 30), self.z_far)
                setback = u(2, 10) if rng.random() < 0.15 else 0.0
                col = _BUILDING_COLOURS[rng.integers(len(_BUILDING_COLOURS))] * u(0.85, 1.1)
                col = col + rng.uniform(-12, 12, 3).astype(np.float32)
                segs.append((side, base + side * setback, z, z2, u(5, 20), col))
                z = z2
        # End walls facing the camera (visible above a lower, nearer neighbour), under all facades.
        prev: dict[int, float] = {}
        for side, xs, z1, z2, hgt, col in segs:
            if hgt > prev.get(side, 0.0) or xs != (self.bl if side < 0 else self.br):
                light = 1.0 if side == self.sun_side else self.shade
                wall = self.proj([xs, xs + side * 12, xs + side * 12, xs], [0, 0, hgt, hgt], z1)
                self.fill(wall, self.haze(col * light * 0.85, z1), C.BUILDING)
            prev[side] = hgt
        for seg in segs:
            self.facade(*seg)

    def facade(self, side: int, xs: float, z1: float, z2: float, hgt: float, col: np.ndarray) -> None:
        """One building front in the plane X = xs: wall, roof line, upper windows and a shop front."""
        rng, u = self.rng, self.rng.uniform
        light = (1.0 if side == self.sun_side else self.shade) * u(0.9, 1.05)
        zm = 0.5 * (z1 + z2)
        base = col * light
        self.side(xs, z1, z2, 0.0, hgt, self.haze(base, zm), C.BUILDING)
        width_px = self.f * abs(xs) * (1 / z1 - 1 / z2)
        if width_px < 3:  # too far away for any detail
            return
        # Cornice / roof edge.
        self.side(xs, z1, z2, hgt - 0.4, hgt, self.haze(base * 0.75, zm), C.BUILDING)
        # Upper-floor windows in a grid; skipped where they would be under ~1 px wide.
        floor_h, gf = u(2.8, 3.4), u(2.8, 3.6)
        win_h, win_w, pitch = u(1.0, 1.7), u(0.8, 1.5), u(2.0, 3.5)
        ys = np.arange(gf + (floor_h - win_h) / 2, hgt - win_h - 0.6, floor_h)
        zs = np.arange(z1 + u(0.4, 1.2), z2 - win_w - 0.3, pitch)
        if len(ys) and len(zs):
            Y, Z = np.meshgrid(ys, zs, indexing="ij")
            Y, Z = Y.ravel(), Z.ravel()
            wide = self.f * abs(xs) * (1 / Z - 1 / (Z + win_w)) > 1.2
            Y, Z = Y[wide], Z[wide]
            if len(Y):
                glass = np.array([u(30, 70), u(40, 80), u(50, 95)], np.float32)
                frame = rng.random() < 0.6
                group = rng.integers(0, 3, len(Y))
                for g in range(3):
                    sel = group == g
                    if not sel.any():
                        continue
                    zz, yy = Z[sel], Y[sel]
                    if frame:
                        e = 0.12
                        pts = self.proj(xs, np.stack([yy - e, yy - e, yy + win_h + e, yy + win_h + e], 1),
                                        np.stack([zz - e, zz + win_w + e, zz + win_w + e, zz - e], 1))
                        self.fill(list(pts), self.haze(base * 1.25 + 25, float(zz.mean())), C.BUILDING)
                    shade = glass * (0.8 + 0.35 * g) + (self.sky_hor - glass) * (0.15 * g)
                    pts = self.proj(xs, np.stack([yy, yy, yy + win_h, yy + win_h], 1),
                                    np.stack([zz, zz + win_w, zz + win_w, zz], 1))
                    self.fill(list(pts), self.haze(shade, float(zz.mean())), C.BUILDING)
        # Shop front: dark glazing with mullions and a coloured fascia band.
        if rng.random() < 0.7 and width_px > 4:
            fascia = _tup(rng.uniform(20, 230, 3))
            self.side(xs, z1 + 0.3, z2 - 0.3, gf - 0.9, gf - 0.3, self.haze(fascia, zm), C.BUILDING)
            glass = np.array([u(25, 60), u(30, 65), u(35, 75)], np.float32)
            n = max(1, int((z2 - z1) / 2.5))
            edges = np.linspace(z1 + 0.5, z2 - 0.5, n + 1)
            mull = min(0.3, 0.25 * (edges[1] - edges[0]))
            za, zb = edges[:-1] + mull / 2, edges[1:] - mull / 2
            tone = rng.random(n) < 0.5
            for g, k in ((False, 1.0), (True, 1.4)):
                sel = tone == g
                if sel.any():
                    y0, y1 = 0.3, gf - 1.1
                    pts = self.proj(xs, np.array([y0, y0, y1, y1]), np.stack([za[sel], zb[sel], zb[sel], za[sel]], 1))
                    self.fill(pts, self.haze(glass * k, zm), C.BUILDING)

    # ---------------------------------------------------------------- objects
    def car(self, x: float, z: float, oncoming: bool) -> None:
        """A car as boxes: body, cabin with glazing, wheels, lights, plate; the face toward the camera at z."""
        rng, u = self.rng, self.rng.uniform
        w, length, cl = u(1.65, 1.9), u(3.8, 4.7), u(0.18, 0.26)
        hb, hr = u(0.85, 1.05), u(1.35, 1.55)
        col = _CAR_COLOURS[rng.integers(len(_CAR_COLOURS))] * u(0.85, 1.1)
        x0, x1, z1 = x - w / 2, x + w / 2, z + length
        dark = self.haze((22, 22, 24), z)
        # Shadow/under-body and wheels under the near face.
        self.face(x0 + 0.05, x1 - 0.05, 0.0, cl + 0.05, z + 0.3, dark, C.CAR)
        xs = x0 if x0 > 0 else (x1 if x1 < 0 else None)  # visible flank, if any
        if xs is not None:
            self.side(xs, z, z1, cl, hb, self.haze(col * 0.78, z), C.CAR)
            for zc in (z + 0.8, z1 - 0.8):
                self.wheel(xs, zc, 0.32, dark, C.CAR)
        if self.hc > hb:  # bonnet / boot lid seen from above
            p = self.proj([x0, x1, x1, x0], hb, [z, z, z1, z1])
            self.fill([p], self.haze(col * 1.08 + 8, z), C.CAR)
        # Cabin: glass box with a roof.
        cz0, cz1 = (z + 0.9, z1 - 1.2) if not oncoming else (z + 1.2, z1 - 0.9)
        cx0, cx1 = x0 + 0.1, x1 - 0.1
        pts = self.proj(np.array([cx0, cx1] * 4), np.repeat([hb, hr], 4), np.tile(np.repeat([cz0, cz1], 2), 2))
        hull = cv2.convexHull(pts.astype(np.float32)).reshape(-1, 2)
        self.fill([hull], self.haze(col * 0.9, z), C.CAR)
        glass = self.haze((45, 55, 70), z)
        self.face(cx0 + 0.08, cx1 - 0.08, hb + 0.05, hr - 0.07, cz0, glass, C.CAR)
        if xs is not None:
            self.side(cx0 if xs == x0 else cx1, cz0 + 0.1, cz1 - 0.1, hb + 0.05, hr - 0.07, glass, C.CAR)
        if self.hc > hr:
            p = self.proj([cx0, cx1, cx1, cx0], hr, [cz0, cz0, cz1, cz1])
            self.fill([p], self.haze(col * 1.05, z), C.CAR)
        # Near face: body panel, lights, number plate, tyres under it.
        self.face(x0, x1, cl, hb, z, self.haze(col, z), C.CAR)
        for xa in (x0 + 0.05, x1 - 0.3):
            self.face(xa, xa + 0.25, 0.0, cl + 0.1, z + 0.02, dark, C.CAR)
        lamp = (235, 235, 210) if oncoming else (200, 25, 25)
        self.face(x0 + 0.06, x0 + 0.36, hb - 0.28, hb - 0.12, z, self.haze(lamp, z), C.CAR)
        self.face(x1 - 0.36, x1 - 0.06, hb - 0.28, hb - 0.12, z, self.haze(lamp, z), C.CAR)
        plate = (230, 230, 230) if oncoming else (230, 200, 40)
        self.face(x - 0.26, x + 0.26, cl + 0.2, cl + 0.32, z, self.haze(plate, z), C.CAR)

    def pedestrian(self, x: float, z: float) -> None:
        """A standing/walking person facing the street: legs, torso, arms, head."""
        rng, u = self.rng, self.rng.uniform
        h = u(1.55, 1.9)
        top = _CLOTHES[rng.integers(len(_CLOTHES))] * u(0.8, 1.2)
        legs = _CLOTHES[rng.integers(len(_CLOTHES))] * u(0.7, 1.1)
        skin = _SKIN[rng.integers(len(_SKIN))]
        stride = u(-0.12, 0.12)
        for dx, lift in ((-0.11, stride), (0.11, -stride)):
            self.face(x + dx - 0.075, x + dx + 0.075, 0.0, 0.48 * h, z + lift * 0.5, self.haze(legs, z), C.PEDESTRIAN)
        sw = u(0.38, 0.48)
        self.face(x - sw / 2, x + sw / 2, 0.46 * h, 0.82 * h, z, self.haze(top, z), C.PEDESTRIAN)
        for dx in (-sw / 2 - 0.06, sw / 2 + 0.06):
            self.face(x + dx - 0.05, x + dx + 0.05, 0.47 * h, 0.8 * h, z, self.haze(top * 0.85, z), C.PEDESTRIAN)
        head = self.pt(x, 0.9 * h, z)
        self.disc(head, self.px(0.11, z), self.haze(skin, z), C.PEDESTRIAN)
        hair = self.pt(x, 0.93 * h, z)
        self.disc(hair, self.px(0.09, z), self.haze(_CLOTHES[0] * u(0.5, 2.5), z), C.PEDESTRIAN)
        if rng.random() < 0.3:  # bag
            bag = self.haze(legs * 0.8, z)
            self.face(x + sw / 2, x + sw / 2 + 0.25, 0.45 * h, 0.65 * h, z - 0.05, bag, C.PEDESTRIAN)

    def bicyclist(self, x: float, z: float) -> None:
        """A bicycle with rider seen from behind, riding along the kerb."""
        rng, u = self.rng, self.rng.uniform
        dark = self.haze((25, 25, 28), z)
        frame_col = self.haze(_CAR_COLOURS[rng.integers(len(_CAR_COLOURS))], z)
        cloth = self.haze(_CLOTHES[rng.integers(len(_CLOTHES))], z)
        r, wb = 0.34, 1.05
        for zc in (z + wb, z):  # far wheel first
            a = np.linspace(0, 2 * np.pi, 16, endpoint=False)
            ring = self.proj(x, r + r * np.sin(a), zc + r * np.cos(a))
            t = max(self.px(0.05, zc), 1.2)
            for i in range(len(ring)):
                self.segment(ring[i], ring[(i + 1) % len(ring)], t, dark, C.BICYCLIST)
        hub_r, hub_f = self.pt(x, r, z), self.pt(x, r, z + wb)
        seat, bars, crank = self.pt(x, 0.95, z + 0.3), self.pt(x, 1.0, z + 0.95), self.pt(x, 0.32, z + 0.5)
        t = max(self.px(0.04, z), 1.2)
        for a_, b_ in ((hub_r, seat), (seat, crank), (crank, hub_r), (seat, bars), (bars, hub_f), (crank, bars)):
            self.segment(a_, b_, t, frame_col, C.BICYCLIST)
        # Rider: legs, torso leaning forward, arms, head.
        shoulder = self.pt(x, 1.5, z + 0.7)
        for dx in (-0.12, 0.12):
            knee_to_pedal = (self.pt(x + dx, 1.0, z + 0.35), self.pt(x + dx, 0.32, z + 0.5))
            self.segment(*knee_to_pedal, self.px(0.13, z), cloth, C.BICYCLIST)
        quad = np.array([[-0.2, 1.0, 0.35], [0.2, 1.0, 0.35], [0.2, 1.5, 0.7], [-0.2, 1.5, 0.7]])
        torso = self.proj(x + quad[:, 0], quad[:, 1], z + quad[:, 2])
        self.fill(torso, cloth, C.BICYCLIST)
        self.segment(shoulder, bars, self.px(0.08, z), cloth, C.BICYCLIST)
        skin = self.haze(_SKIN[rng.integers(len(_SKIN))], z)
        self.disc(self.pt(x, 1.66, z + 0.72), self.px(0.12, z), skin, C.BICYCLIST)
        if rng.random() < 0.6:  # helmet
            self.disc(self.pt(x, 1.7, z + 0.72), self.px(0.1, z), self.haze(rng.uniform(30, 230, 3), z), C.BICYCLIST)

    def tree(self, x: float, z: float) -> None:
        """A street tree: trunk plus a leafy crown of many overlapping discs, or bare winter branches."""
        rng, u = self.rng, self.rng.uniform
        ht = u(4.0, 10.0)
        bark = self.haze((u(60, 90), u(50, 70), u(40, 55)), z)
        if rng.random() < 0.3:  # bare tree: recursive branches
            self.vbar(x, z, 0.0, ht * 0.45, 0.15, bark, C.TREE)
            stack = [(self.pt(x, ht * 0.45, z), -math.pi / 2, self.px(ht * 0.3, z), self.px(0.12, z), 0)]
            while stack:
                p, ang, ln, wd, depth = stack.pop()
                q = (p[0] + ln * math.cos(ang), p[1] + ln * math.sin(ang))
                self.segment(p, q, wd, bark, C.TREE)
                if depth < 4:
                    for _ in range(2 + (depth > 1)):
                        stack.append((q, ang + u(-0.7, 0.7), ln * u(0.55, 0.8), wd * 0.65, depth + 1))
            return
        trunk_h = ht * u(0.3, 0.45)
        self.vbar(x, z, 0.0, trunk_h + ht * 0.1, 0.14, bark, C.TREE)
        radius = ht * u(0.25, 0.35)
        cy = trunk_h + radius * 0.9
        green = np.array([u(40, 90), u(70, 120), u(30, 60)], np.float32)
        n = int(rng.integers(14, 24))
        for i in range(n):
            ang, rad = u(0, 2 * np.pi), radius * math.sqrt(u(0, 1)) * 0.75
            c = self.pt(x + rad * math.cos(ang), cy + rad * math.sin(ang) * 0.9, z)
            shade = green * u(0.55, 1.35)
            self.disc(c, self.px(radius * u(0.25, 0.5), z), self.haze(shade, z), C.TREE)

    def pole(self, x: float, z: float, kind: str, towards: int) -> None:
        """Lamp post, plain pole, sign on a pole, or traffic light; ``towards`` is the road side (+1/-1)."""
        rng, u = self.rng, self.rng.uniform
        metal = self.haze((u(70, 140),) * 3 if rng.random() < 0.7 else (40, 60, 45), z)
        if kind == "lamp":
            h = u(5.0, 8.0)
            self.vbar(x, z, 0.0, h, 0.08, metal, C.POLE)
            a, b = self.pt(x, h, z), self.pt(x + towards * u(1.0, 2.0), h + 0.2, z)
            self.segment(a, b, self.px(0.1, z), metal, C.POLE)
            self.disc(b, self.px(0.2, z), self.haze((210, 210, 200), z), C.POLE)
        elif kind == "plain":
            self.vbar(x, z, 0.0, u(2.5, 6.0), 0.06, metal, C.POLE)
        elif kind == "sign":
            h = u(2.3, 3.0)
            self.vbar(x, z, 0.0, h, 0.05, metal, C.POLE)
            s = u(0.5, 0.9)
            style = int(rng.integers(4))
            centre = self.pt(x, h + s / 2 - 0.1, z)
            if style == 0:  # round: red rim, white centre
                self.disc(centre, self.px(s / 2, z), self.haze((200, 30, 35), z), C.SIGN_SYMBOL)
                self.disc(centre, self.px(s * 0.38, z), self.haze((235, 235, 235), z), C.SIGN_SYMBOL)
            elif style == 1:  # round blue
                self.disc(centre, self.px(s / 2, z), self.haze((30, 80, 180), z), C.SIGN_SYMBOL)
                self.disc(centre, self.px(s * 0.12, z), self.haze((235, 235, 235), z), C.SIGN_SYMBOL)
            elif style == 2:  # triangle warning
                p = self.proj([x - s / 2, x + s / 2, x], [h - 0.1, h - 0.1, h + s - 0.1], z)
                self.fill([p], self.haze((200, 30, 35), z), C.SIGN_SYMBOL)
                p = self.proj([x - s * 0.3, x + s * 0.3, x], [h, h, h + s * 0.6 - 0.1], z)
                self.fill([p], self.haze((235, 235, 235), z), C.SIGN_SYMBOL)
            else:  # rectangular direction sign
                bg = [(30, 80, 180), (25, 110, 60), (235, 235, 235)][int(rng.integers(3))]
                self.face(x - s * 0.8, x + s * 0.8, h - 0.1, h + s - 0.1, z, self.haze(bg, z), C.SIGN_SYMBOL)
                fg = (20, 20, 20) if bg[0] > 200 else (240, 240, 240)
                self.face(x - s * 0.6, x + s * 0.3, h + s * 0.35, h + s * 0.5, z, self.haze(fg, z), C.SIGN_SYMBOL)
        else:  # traffic light
            h = u(2.4, 3.0)
            self.vbar(x, z, 0.0, h, 0.06, metal, C.POLE)
            self.face(x - 0.17, x + 0.17, h, h + 0.9, z, self.haze((25, 25, 25), z), C.SIGN_SYMBOL)
            lit = int(rng.integers(3))
            for i, col in enumerate(((220, 40, 30), (230, 160, 30), (40, 200, 90))):
                c = col if i == lit else tuple(v * 0.3 for v in col)
                self.disc(self.pt(x, h + 0.75 - 0.28 * i, z), self.px(0.1, z), self.haze(c, z), C.SIGN_SYMBOL)

    def fence_piece(self, x: float, z0: float, z1: float, col: tuple, railing: bool) -> None:
        """One bay of fence along the kerb between depths z0 < z1: railing with posts, or solid panel."""
        if railing:
            self.vbar(x, z0, 0.0, 1.0, 0.04, col, C.FENCE)
            for y in (0.95, 0.5, 0.1):
                a, b = self.pt(x, y, z0), self.pt(x, y, z1)
                self.segment(a, b, self.px(0.05, z0), col, C.FENCE)
            zz = z0 + 0.25
            while zz < z1 - 0.05:  # balusters
                self.vbar(x, zz, 0.1, 0.95, 0.015, col, C.FENCE)
                zz += 0.25
        else:
            self.side(x, z0, z1, 0.0, 0.9, col, C.FENCE)
            self.side(x, z0, z1, 0.8, 0.9, _tup(np.asarray(col) * 0.8), C.FENCE)

    def plan_objects(self) -> list[tuple[float, Callable[[], None]]]:
        """Place cars, people, trees, poles, signs and fences; return (depth, draw) pairs."""
        rng, u = self.rng, self.rng.uniform
        objs: list[tuple[float, Callable[[], None]]] = []
        zlo = self.z_min

        def logz(lo: float, hi: float) -> float:
            return math.exp(u(math.log(lo), math.log(max(hi, lo * 1.01))))

        # Cars: in lanes (ahead of the camera or oncoming) or parked along a kerb.
        taken: list[tuple[float, float]] = []
        for _ in range(int(rng.choice([0, 1, 1, 2, 2, 3, 4]))):
            for _try in range(6):
                kind = rng.random()
                if kind < 0.35:
                    x, onc = self.xl + 1.0, False
                elif kind < 0.45 and self.br - self.xr > 0:
                    x, onc = self.xr - 1.0, True
                else:
                    lane = int(rng.integers(self.n_lanes))
                    x, onc = self.xl + self.lane_w * (lane + 0.5) + u(-0.3, 0.3), lane > 0
                zmin = max(zlo * 1.05, 7.0 if abs(x) < 1.2 else 0)
                z = logz(zmin, 70)
                if all(abs(x - tx) > 2.0 or abs(z - tz) > 5.5 for tx, tz in taken):
                    taken.append((x, z))
                    objs.append((z, partial(self.car, x, z, onc)))
                    break
        # Pedestrians on either pavement.
        for _ in range(int(rng.choice([0, 0, 1, 1, 2, 3]))):
            left = rng.random() < 0.5
            x = u(self.bl + 0.4, self.xl - 0.4) if left else u(self.xr + 0.4, self.br - 0.4)
            z = logz(max(zlo * 1.1, self.f * abs(x) / self.W * 0.6), 45)
            objs.append((z, partial(self.pedestrian, x, z)))
        if rng.random() < 0.3:
            z = logz(max(zlo * 1.2, 5.0), 30)
            x = self.xl + u(0.6, 1.0)
            objs.append((z, partial(self.bicyclist, x, z)))
        # Street furniture along the kerbs.
        for _ in range(int(rng.integers(0, 6))):
            left = rng.random() < 0.5
            x = self.xl - u(0.5, 1.0) if left else self.xr + u(0.5, 1.0)
            z = logz(max(zlo, 6.0), 90)
            objs.append((z, partial(self.tree, x, z)))
        kinds = ["lamp", "plain"]
        for i in range(int(rng.integers(1, 5)) + int(rng.integers(0, 3))):
            left = rng.random() < 0.5
            x = self.xl - u(0.3, 0.6) if left else self.xr + u(0.3, 0.6)
            pole_kind = kinds[int(rng.integers(2))] if i < 2 else ("sign" if rng.random() < 0.75 else "traffic")
            z = logz(max(zlo * 1.1, 4.0), 80)
            objs.append((z, partial(self.pole, x, z, pole_kind, 1 if left else -1)))
        if rng.random() < 0.35:
            left = rng.random() < 0.5
            x = self.xl - 0.3 if left else self.xr + 0.3
            railing = rng.random() < 0.6
            col = _tup((u(30, 80),) * 3) if railing else _tup((u(120, 190), u(100, 150), u(70, 120)))
            z0 = _between(rng, max(zlo * 0.8, 3.0), 15)
            z1 = z0 + u(8, 40)
            zz = z0
            while zz < z1:
                step = 2.5 if zz < 25 else 5.0
                draw = lambda a=zz, b=zz + step: self.fence_piece(x, a, b, self.haze(col, a), railing)  # noqa: E731
                objs.append((zz + step, draw))
                zz += step
        return objs

    # ---------------------------------------------------------------- output
    def finish(self) -> tuple[np.ndarray, np.ndarray]:
        """Downsample 2x -> 1x; ground haze and shadow; exposure, tint, vignette; per-class texture noise."""
        rng, u = self.rng, self.rng.uniform
        h, w = self.h, self.w
        img: np.ndarray = cv2.resize(self.img, (w, h), interpolation=cv2.INTER_AREA)
        lab = np.ascontiguousarray(self.lab[_SS // 2 :: _SS, _SS // 2 :: _SS])
        img = cv2.GaussianBlur(img, (3, 3), u(0.3, 0.6)).astype(np.float32)
        ground = (lab == C.ROAD) | (lab == C.PAVEMENT)
        # Aerial perspective on the ground, by the depth of each row (objects got theirs when drawn).
        y2 = np.arange(h, dtype=np.float32) * _SS + 0.5  # row centres in 2x coordinates
        z = self.f * self.hc / np.maximum(y2 - self.hy, 0.05)
        a = np.where(ground, (1 - np.exp(-z / self.haze_dist))[:, None], 0).astype(np.float32)[:, :, None]
        img += (self.haze_col - img) * a
        if self.shadow is not None:
            mask = np.zeros((h, w), np.uint8)
            p = (self.shadow - 0.5) / _SS
            cv2.fillPoly(mask, [np.round(p * _ONE).astype(np.int32)], 1, cv2.LINE_8, _SHIFT)
            m = (mask > 0) & ground
            img[m] *= np.array([self.shade * 0.95, self.shade * 0.98, self.shade * 1.05], np.float32)
        gain = np.float32(u(0.75, 1.12)) * rng.uniform(0.94, 1.06, 3).astype(np.float32)
        yy = (np.arange(h, dtype=np.float32) - h / 2) / (h / 2)
        xx = (np.arange(w, dtype=np.float32) - w / 2) / (w / 2)
        vignette = 1 - np.float32(u(0.05, 0.25) * 0.5) * (yy[:, None] ** 2 + xx[None, :] ** 2)
        img *= vignette[:, :, None] * gain
        # Texture: per-class pixel grain and low-frequency blotches, plus half-resolution chroma noise.
        blotch = cv2.resize(rng.standard_normal((h // 4 + 2, w // 4 + 2), dtype=np.float32), (w, h),
                            interpolation=cv2.INTER_CUBIC)
        grain = rng.standard_normal((h, w), dtype=np.float32)
        img += (grain * _PIXEL_NOISE[lab] + blotch * _BLOTCH_NOISE[lab])[:, :, None]
        chroma = rng.standard_normal(((h + 1) // 2, (w + 1) // 2, 3), dtype=np.float32) * np.float32(u(0.8, 2.5))
        img += cv2.resize(chroma, ((w + 1) // 2 * 2, (h + 1) // 2 * 2), interpolation=cv2.INTER_NEAREST)[:h, :w]
        img += 0.5
        np.maximum(img, 0, out=img)
        np.minimum(img, 255, out=img)
        return img.astype(np.uint8), lab

    def render(self) -> tuple[np.ndarray, np.ndarray]:
        """Draw everything back to front and return (uint8 RGB (H, W, 3), uint8 labels (H, W))."""
        self.sky()
        self.ground_plane()
        self.buildings()
        objs = self.plan_objects()
        for _, _, draw in sorted(((-z, i, d) for i, (z, d) in enumerate(objs)), key=lambda t: (t[0], t[1])):
            draw()
        return self.finish()


def street_scene(seed: int, *, size: tuple[int, int] = (96, 128)) -> tuple[np.ndarray, np.ndarray]:
    """Draw one street scene: (uint8 RGB (H, W, 3), uint8 CamVid ids (H, W)); ``size`` is (H, W).

    Deterministic: the same ``seed`` (an int >= 0) gives byte-identical arrays. Labels use ids 0..10.
    """
    h, w = _check_size(size)
    rng = np.random.default_rng(_check_seed(seed))
    return _Street(h, w, rng).render()


def _item_seed(seed: int, index: int) -> int:
    """Seed of item ``index`` of a synthetic set with base ``seed`` (distinct for distinct pairs)."""
    return seed * _SEED_STRIDE + index


def _to_tensors(img: np.ndarray, lab: np.ndarray) -> tuple[Tensor, Tensor]:
    """uint8 (H, W, 3) / (H, W) arrays -> float32 (3, H, W) in [0, 1] and int64 (H, W) tensors."""
    image = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1))).float().div_(255.0)
    return image, torch.from_numpy(lab.astype(np.int64))


class SyntheticStreets(Dataset):
    """``n`` procedural street scenes as a Dataset with the same item dicts as SegmentationFolder.

    Item ``i`` is ``street_scene(seed * 1_000_003 + i, size=size)`` as
    ``{"image": float32 (3, H, W) in [0, 1], "label": int64 (H, W), "name": "synthetic_000012"}``.
    ``size`` is (height, width). Items are drawn on access (a few ms each), nothing is cached.
    """

    def __init__(self, n: int, *, size: tuple[int, int] = (96, 128), seed: int = 0) -> None:
        """Describe the set; no drawing happens until items are read."""
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise ValueError(f"n: expected an int >= 0, got {n!r}")
        self.n = int(n)
        self.size = _check_size(size)
        self.seed = _check_seed(seed)

    def __len__(self) -> int:
        """Number of scenes."""
        return self.n

    def __getitem__(self, index: int) -> dict[str, Tensor | str]:
        """Scene ``index`` as ``{"image", "label", "name"}``."""
        if isinstance(index, (bool, np.bool_)) or not isinstance(index, (int, np.integer)):
            raise TypeError(f"index: expected an int, got {type(index).__name__}")
        if not -self.n <= index < self.n:
            raise IndexError(f"index {index} out of range for {self.n} synthetic scenes")
        index = int(index) % self.n
        img, lab = street_scene(_item_seed(self.seed, index), size=self.size)
        image, label = _to_tensors(img, lab)
        return {"image": image, "label": label, "name": f"synthetic_{index:06d}"}

    def __repr__(self) -> str:
        """Short summary."""
        return f"SyntheticStreets(n={self.n}, size={self.size}, seed={self.seed})"


def synthetic_batch(n: int, *, size: tuple[int, int] = (96, 128), seed: int = 0) -> tuple[Tensor, Tensor]:
    """Scenes 0..n-1 of ``SyntheticStreets(n, size=size, seed=seed)`` stacked: (n, 3, H, W) float, (n, H, W) int64."""
    ds = SyntheticStreets(n, size=size, seed=seed)
    h, w = ds.size
    images = torch.empty((ds.n, 3, h, w), dtype=torch.float32)
    labels = torch.empty((ds.n, h, w), dtype=torch.int64)
    for i in range(ds.n):
        img, lab = street_scene(_item_seed(ds.seed, i), size=ds.size)
        images[i], labels[i] = _to_tensors(img, lab)
    return images, labels
