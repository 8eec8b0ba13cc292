"""W4's sanity checks (``map_export.py``): images of both servers decoded with Pillow and
compared with where the points are, so that neither side is measuring error pages or blank
images; and their tables."""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field
from typing import Any

import httpx
import numpy as np
from feature_config import console
from map_data import FILL, Extent, MapData, MapTarget, tile_extent
from map_geosite import GeositeMap
from rich.table import Table

IMAGE_TIMEOUT_S = 30.0

# -- the pixels -------------------------------------------------------------------------------


def _drawn_mask(body: bytes, size: int) -> tuple[np.ndarray | None, str]:
    """The pixels that were drawn (alpha ≥ 128 and not the white of an opaque background),
    or None and why the body is no good image."""
    from PIL import Image, UnidentifiedImageError

    try:
        image = Image.open(io.BytesIO(body))
        image.load()
    except (UnidentifiedImageError, OSError) as exc:
        return None, f"not an image ({exc}): {body[:120]!r}"
    if image.format != "PNG":
        return None, f"a {image.format}, not a PNG"
    if image.size != (size, size):
        return None, f"{image.size[0]}x{image.size[1]}, not {size}x{size}"
    rgba = np.asarray(image.convert("RGBA"))
    white = (rgba[..., :3] >= 250).all(axis=2)
    return (rgba[..., 3] >= 128) & ~white, ""


def _fill_share(body: bytes) -> float:
    """The share of the drawn pixels that have the marker's fill colour (within 24 levels)."""
    from PIL import Image

    rgba = np.asarray(Image.open(io.BytesIO(body)).convert("RGBA")).astype(int)
    drawn = rgba[..., 3] >= 128
    close = (np.abs(rgba[..., :3] - np.array(FILL[:3])) <= 24).all(axis=2) & drawn
    return float(close.sum() / max(1, drawn.sum()))


def expected_mask(data: MapData, extent: Extent, size: int, diameter: float) -> np.ndarray:
    """The pixels a circle of ``diameter`` pixels at every point in ``extent`` covers."""
    xmin, ymin, xmax, ymax = extent
    radius = diameter / 2
    pad = (xmax - xmin) / size * (radius + 1)
    near = (
        (data.x >= xmin - pad)
        & (data.x <= xmax + pad)
        & (data.y >= ymin - pad)
        & (data.y <= ymax + pad)
    )
    px = (data.x[near] - xmin) / (xmax - xmin) * size
    py = (ymax - data.y[near]) / (ymax - ymin) * size
    mask = np.zeros((size, size), dtype=bool)
    reach = math.ceil(radius) + 1
    offsets = np.arange(-reach, reach + 1)
    for cx, cy in zip(px.tolist(), py.tolist(), strict=True):
        cols = np.floor(cx).astype(int) + offsets
        rows = np.floor(cy).astype(int) + offsets
        cols, rows = cols[(cols >= 0) & (cols < size)], rows[(rows >= 0) & (rows < size)]
        if not len(cols) or not len(rows):
            continue
        dx = cols + 0.5 - cx
        dy = rows + 0.5 - cy
        inside = dy[:, None] ** 2 + dx[None, :] ** 2 <= radius**2
        mask[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1] |= inside
    return mask


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.count_nonzero(a | b)
    return float(np.count_nonzero(a & b) / union) if union else 1.0


def best_fit(
    mask: np.ndarray, data: MapData, extent: Extent, size: int
) -> tuple[float, tuple[float, float], float]:
    """The marker diameter (3-16 px) and then the shift of the drawing (up to half a pixel
    each way) whose circles at the points fit the drawn pixels best, and that fit (IoU)."""
    fits = {
        d: _iou(mask, expected_mask(data, extent, size, d))
        for d in np.arange(3.0, 16.01, 0.5).tolist()
    }
    diameter = max(fits, key=lambda d: fits[d])
    pixel = (extent[2] - extent[0]) / size
    shifted = {}
    for dx in (-0.5, 0.0, 0.5):
        for dy in (-0.5, 0.0, 0.5):
            moved = (
                extent[0] - dx * pixel,
                extent[1] + dy * pixel,
                extent[2] - dx * pixel,
                extent[3] + dy * pixel,
            )
            shifted[(dx, dy)] = _iou(mask, expected_mask(data, moved, size, diameter))
    offset = max(shifted, key=lambda o: shifted[o])
    return diameter, offset, shifted[offset]


# -- the checks -------------------------------------------------------------------------------


@dataclass
class ImageCheck:
    """What a few decoded images of one server show."""

    server: str
    size: int
    images: int = 0
    problems: list[str] = field(default_factory=list)
    drawn_share: list[float] = field(default_factory=list)
    fill_share: list[float] = field(default_factory=list)
    iou: list[float] = field(default_factory=list)  # with the expected mask at its diameter
    diameter: list[float] = field(default_factory=list)  # the marker size that fits best
    offset: list[tuple[float, float]] = field(default_factory=list)  # then its shift (px)
    bytes: list[int] = field(default_factory=list)
    masks: list[np.ndarray] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "server": self.server,
            "size": self.size,
            "images": self.images,
            "problems": self.problems,
            "drawn_share": [round(v, 3) for v in self.drawn_share],
            "fill_colour_share_of_drawn": [round(v, 3) for v in self.fill_share],
            "iou_with_points": [round(v, 3) for v in self.iou],
            "best_fitting_marker_px": self.diameter,
            "best_fitting_shift_px": [list(o) for o in self.offset],
            "png_bytes": self.bytes,
        }

    def fit(self, mask: np.ndarray, data: MapData, extent: Extent, size: int) -> float:
        """Note the marker diameter and shift that fit the drawn pixels of an image of
        ``extent`` best (``best_fit``), and that fit (IoU), which it returns."""
        diameter, offset, fit = best_fit(mask, data, extent, size)
        self.diameter.append(diameter)
        self.offset.append(offset)
        self.iou.append(fit)
        return fit


def check_images(target: MapTarget, data: MapData, size: int, samples: int) -> ImageCheck:
    """Decode the images of the first ``samples`` extents and compare them with the points."""
    found = ImageCheck(target.name, size)
    with httpx.Client(base_url=target.base, timeout=IMAGE_TIMEOUT_S) as client:
        for index, extent in enumerate(data.extents[:samples]):
            answer = client.get(target.image(extent, size))
            kind = answer.headers.get("content-type", "")
            if answer.status_code != 200 or not kind.startswith("image/png"):
                found.problems.append(
                    f"extent {index}: HTTP {answer.status_code} {kind}: {answer.content[:200]!r}"
                )
                continue
            mask, why = _drawn_mask(answer.content, size)
            if mask is None:
                found.problems.append(f"extent {index}: {why}")
                continue
            found.images += 1
            found.bytes.append(len(answer.content))
            found.masks.append(mask)
            found.drawn_share.append(float(mask.mean()))
            found.fill_share.append(_fill_share(answer.content))
            fit = found.fit(mask, data, extent, size)
            if mask.mean() < 0.01:
                found.problems.append(f"extent {index}: blank ({mask.mean():.1%} drawn)")
            elif fit < 0.6:
                found.problems.append(
                    f"extent {index}: the drawing does not match the points (IoU {fit:.2f})"
                )
    return found


def check_tiles(
    target: GeositeMap, data: MapData, tiles: list[tuple[int, int, int]], samples: int
) -> tuple[ImageCheck, str]:
    """Ask for every tile once (so that it is in the cache): each must be an image, a PNG is
    decoded, the first ``samples`` compared with the points. With why there are no tiles
    when the first is refused ("" when it is not)."""
    check = ImageCheck(f"{target.name} tiles", 256)
    with httpx.Client(base_url=target.base, timeout=IMAGE_TIMEOUT_S) as client:
        for index, tile in enumerate(tiles):
            path = target.tile(*tile)
            answer = client.get(path)
            kind = answer.headers.get("content-type", "")
            if answer.status_code != 200 or not kind.startswith("image/"):
                if index == 0:
                    return check, target.no_tiles(client, path, answer)
                text = answer.text[:300].replace("\n", " ")
                check.problems.append(f"{path}: HTTP {answer.status_code} {kind}: {text}")
                continue
            check.images += 1
            check.bytes.append(len(answer.content))
            if kind.startswith("image/png"):
                mask, why = _drawn_mask(answer.content, 256)
                if mask is None:
                    check.problems.append(f"{path}: {why}")
                else:
                    check.drawn_share.append(float(mask.mean()))
                    if index < samples:  # drawn where the points are?
                        fit = check.fit(mask, data, tile_extent(*tile), 256)
                        if fit < 0.6:
                            check.problems.append(f"{path}: does not match the points ({fit:.2f})")
    return check, ""


# -- the tables -------------------------------------------------------------------------------


def print_checks(checks: list[ImageCheck]) -> None:
    table = Table(title="Sanity checks: images decoded with Pillow and compared with the points")
    for name in (
        "server",
        "size",
        "images",
        "drawn px",
        "fill colour of drawn",
        "best-fitting marker (shift x, y)",
        "IoU with the points",
        "PNG bytes",
        "problems",
    ):
        table.add_column(name)
    for check in checks:
        if not check.images:
            table.add_row(
                check.server,
                str(check.size),
                "0",
                "",
                "",
                "",
                "",
                "",
                "; ".join(check.problems[:2]),
            )
            continue

        def span(values: list[float], fmt: str) -> str:
            return f"{min(values):{fmt}}-{max(values):{fmt}}" if values else "-"

        table.add_row(
            check.server,
            str(check.size),
            str(check.images),
            span(check.drawn_share, ".0%"),
            span(check.fill_share, ".0%"),
            (
                span(check.diameter, "g")
                + " px ("
                + ", ".join(sorted({f"{x:+g}, {y:+g}" for x, y in check.offset}))
                + ")"
            )
            if check.diameter
            else "-",
            span(check.iou, ".2f"),
            span([float(b) for b in check.bytes], ",.0f"),
            "; ".join(check.problems[:2]) or "none",
        )
    console.print(table)


def agreement(checks: list[ImageCheck]) -> dict[str, list[float]]:
    """IoU of geosite's and MapServer's drawn pixels, image by image, per size."""
    out: dict[str, list[float]] = {}
    for size in {c.size for c in checks}:
        pair = [c for c in checks if c.size == size and c.server in ("geosite", "MapServer")]
        if len(pair) == 2 and pair[0].images == pair[1].images:
            out[str(size)] = [
                round(_iou(a, b), 3) for a, b in zip(pair[0].masks, pair[1].masks, strict=True)
            ]
    return out
