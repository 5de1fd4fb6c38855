"""The inside of the mouth, painted where the warped lips part wider than in the reference photo.

A warp can only stretch what the photo shows, and stretched teeth look wrong. Beyond the reference's own lip
gap the inner-lip polygon is repainted in the mouth's own frame (u along the line between the inner mouth
corners, v across it):

* if the photo shows its mouth interior (parted lips, usually teeth), that interior is split: its upper part
  stays attached to the upper lip and its lower part to the lower lip, unstretched, and the widening space
  between them is a dark cavity. At the reference gap this reproduces the photo exactly, so there is no pop;
* otherwise (closed lips in the photo) a synthetic interior: a dark cavity coloured from the lips, a band of
  upper teeth shaded like the skin's brightness, and a hint of tongue for wide openings.

Edges are anti-aliased so the lips stay crisp.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from aniportrait_cli.classic import topology as topo

LUMA = np.array([0.299, 0.587, 0.114], np.float32)
# Share of the photo's mouth interior that moves with the upper lip (upper teeth show more than lower ones).
UPPER_SHARE = 0.62
# The photo's interior is used when its lip gap is at least this many pixels.
MIN_REFERENCE_GAP_PX = 2.5
# ... and shows teeth: its brightest pixels reach this share of the skin's brightness.
TEETH_LUMA = 0.65


def _polygon_mask(shape: tuple[int, int], polygon: np.ndarray) -> np.ndarray:
    mask = np.zeros(shape, dtype=np.uint8)
    cv2.fillPoly(mask, [np.round(polygon * 16).astype(np.int32)], 255, lineType=cv2.LINE_AA, shift=4)
    return mask


def lip_gap_px(points2d: np.ndarray) -> float:
    """Inner-lip gap at the lip centre (pixels), averaged over the three central vertex pairs."""
    upper = points2d[list(topo.LIPS_INNER_UPPER[4:7])]
    lower = points2d[list(topo.LIPS_INNER_LOWER[4:7])]
    return float(np.mean(np.linalg.norm(upper - lower, axis=1)))


@dataclass(frozen=True)
class MouthFrame:
    """The mouth's own coordinates in one image: origin at the left inner corner, u towards the right corner,
    v perpendicular (towards the chin). `top`/`bottom` are the inner lip curves sampled as functions of u."""

    origin: np.ndarray
    axis_u: np.ndarray
    axis_v: np.ndarray
    width: float
    upper_uv: np.ndarray  # (11, 2) inner upper lip in (u, v), sorted by u
    lower_uv: np.ndarray

    @classmethod
    def of(cls, points2d: np.ndarray) -> MouthFrame:
        upper = points2d[list(topo.LIPS_INNER_UPPER)]
        lower = points2d[list(topo.LIPS_INNER_LOWER)]
        left, right = upper[0], upper[-1]
        width = float(max(np.linalg.norm(right - left), 1e-6))
        axis_u = (right - left) / width
        axis_v = np.array([-axis_u[1], axis_u[0]])

        def to_uv(points: np.ndarray) -> np.ndarray:
            rel = points - left
            uv = np.stack([rel @ axis_u, rel @ axis_v], axis=1)
            return uv[np.argsort(uv[:, 0])]

        return cls(left, axis_u, axis_v, width, to_uv(upper), to_uv(lower))

    def top(self, u: np.ndarray) -> np.ndarray:
        return np.interp(u, self.upper_uv[:, 0], self.upper_uv[:, 1])

    def bottom(self, u: np.ndarray) -> np.ndarray:
        return np.interp(u, self.lower_uv[:, 0], self.lower_uv[:, 1])

    def to_image(self, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = self.origin[0] + u * self.axis_u[0] + v * self.axis_v[0]
        y = self.origin[1] + u * self.axis_u[1] + v * self.axis_v[1]
        return x, y


@dataclass(frozen=True)
class MouthPalette:
    """Colours (RGB float32 0..255) for the synthetic interior, measured once on the reference."""

    cavity: np.ndarray
    tongue: np.ndarray
    teeth: np.ndarray

    @classmethod
    def from_reference(cls, image: np.ndarray, points2d: np.ndarray) -> MouthPalette:
        image = np.asarray(image)
        shape = image.shape[:2]
        outer = np.concatenate([points2d[list(topo.LIPS_OUTER_UPPER)], points2d[list(topo.LIPS_OUTER_LOWER[-2:0:-1])]])
        inner = points2d[topo.inner_lip_polygon()]
        outer_mask = _polygon_mask(shape, outer) > 127
        inner_mask = _polygon_mask(shape, inner) > 127
        lips = image[outer_mask & ~inner_mask].reshape(-1, 3).astype(np.float32)
        lip = np.median(lips, axis=0) if len(lips) else np.array([150.0, 80.0, 80.0], np.float32)
        oval = points2d[list(topo.FACE_OVAL)]
        skin = image[(_polygon_mask(shape, oval) > 127) & ~outer_mask].reshape(-1, 3).astype(np.float32)
        skin_luma = float(np.median(skin @ LUMA)) if len(skin) else 160.0
        # Teeth: ivory under the same light as the skin, tinted a little by the lips around them.
        teeth = np.array([236.0, 226.0, 204.0], np.float32) * np.clip(skin_luma / 165.0, 0.55, 1.08)
        teeth = 0.9 * teeth + 0.1 * lip  # lit by the light that comes through the lips
        return cls(
            cavity=(lip * np.array([0.30, 0.18, 0.18])).astype(np.float32),
            tongue=(lip * np.array([0.70, 0.42, 0.42])).astype(np.float32),
            teeth=teeth.astype(np.float32),
        )


def _shows_teeth(interior: np.ndarray, image: np.ndarray, points2d: np.ndarray) -> bool:
    """Whether a mouth interior's pixels (N, 3) include teeth: its brightest tenth at least TEETH_LUMA of the
    skin's median brightness (teeth are about as bright as skin, the cavity and tongue far darker)."""
    oval = _polygon_mask(image.shape[:2], points2d[list(topo.FACE_OVAL)]) > 127
    skin = image[oval].reshape(-1, 3).astype(np.float32) @ LUMA
    if len(skin) == 0:
        return True
    return float(np.percentile(interior @ LUMA, 90)) >= TEETH_LUMA * float(np.median(skin))


class MouthPainter:
    """Paints the mouth interior into rendered frames (in place). Build once per reference."""

    # The repainted interior fades in over this many pixels of lip gap beyond the reference's own gap.
    FADE_IN_PX = (0.3, 1.5)

    def __init__(self, reference_image: np.ndarray, reference_points: np.ndarray):
        self.reference = np.ascontiguousarray(reference_image)
        self.palette = MouthPalette.from_reference(reference_image, reference_points)
        self.reference_gap_px = lip_gap_px(reference_points)
        self.reference_frame = MouthFrame.of(reference_points)
        inner = _polygon_mask(self.reference.shape[:2], reference_points[topo.inner_lip_polygon()]) > 127
        interior = self.reference[inner].reshape(-1, 3).astype(np.float32)
        # The photo's own interior is used when it shows teeth; a dark slit between parted lips has none to
        # lend, and stretching it would give a black hole, so such mouths get the synthetic teeth.
        self.uses_reference_interior = (self.reference_gap_px >= MIN_REFERENCE_GAP_PX and len(interior) >= 8
                                        and _shows_teeth(interior, self.reference, reference_points))
        if self.uses_reference_interior:
            # Cavity colour: the darkest part of the photo's own mouth interior.
            luma = interior @ LUMA
            dark = np.median(interior[luma <= np.percentile(luma, 15)], axis=0)
            self.palette = MouthPalette(np.minimum(dark, self.palette.cavity * 1.3), self.palette.tongue, self.palette.teeth)

    def paint(self, frame: np.ndarray, points2d: np.ndarray) -> None:
        """Repaint the inner-lip polygon of `points2d` (468, 2) (target pixels) in `frame` (H, W, 3 uint8)."""
        beyond = lip_gap_px(points2d) - self.reference_gap_px
        fade = float(np.clip((beyond - self.FADE_IN_PX[0]) / (self.FADE_IN_PX[1] - self.FADE_IN_PX[0]), 0.0, 1.0))
        if fade <= 0.0:
            return
        height, width = frame.shape[:2]
        polygon = points2d[topo.inner_lip_polygon()]
        x0, y0 = np.floor(polygon.min(axis=0)).astype(int) - 1
        x1, y1 = np.ceil(polygon.max(axis=0)).astype(int) + 2
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, width), min(y1, height)
        if x1 - x0 < 2 or y1 - y0 < 2:
            return
        alpha = _polygon_mask((y1 - y0, x1 - x0), polygon - np.array([x0, y0])).astype(np.float32) / 255.0 * fade

        mouth = MouthFrame.of(points2d)
        ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32)
        u = (xs - mouth.origin[0]) * mouth.axis_u[0] + (ys - mouth.origin[1]) * mouth.axis_u[1]
        v = (xs - mouth.origin[0]) * mouth.axis_v[0] + (ys - mouth.origin[1]) * mouth.axis_v[1]
        top, bottom = mouth.top(u), mouth.bottom(u)
        if self.uses_reference_interior:
            color = self._split_reference_interior(mouth, u, v, top, bottom)
        else:
            color = self._synthetic_interior(mouth, u, v, top, bottom)
        # The photo around is soft (camera optics, compression); a painted interior must not be sharper.
        color = cv2.GaussianBlur(color.astype(np.float32), (0, 0), max(0.6, 0.008 * mouth.width))
        patch = frame[y0:y1, x0:x1].astype(np.float32)
        a = alpha[..., None]
        frame[y0:y1, x0:x1] = np.clip(patch * (1.0 - a) + color * a + 0.5, 0, 255).astype(np.uint8)

    def _cavity(self, mouth: MouthFrame, u: np.ndarray, v: np.ndarray, top: np.ndarray, bottom: np.ndarray) -> np.ndarray:
        """The dark inside of the mouth: deepest behind the middle of the opening, lighter and redder towards
        the corners and the lower lip (cheeks and tongue catch some light), in the upper lip's shadow at the top."""
        gap = np.maximum(bottom - top, 1e-3)
        across = np.clip(2.0 * u / mouth.width - 1.0, -1.0, 1.0)
        down = np.clip((v - top) / gap, 0.0, 1.0)  # 0 under the upper lip .. 1 on the lower lip
        depth = np.clip(1.0 - across**2, 0.0, 1.0) * np.clip(1.0 - (2.0 * down - 0.8) ** 2, 0.0, 1.0)
        shade = 1.25 - 0.75 * depth  # darkest in the middle of the opening
        shade *= 0.55 + 0.45 * np.clip((v - top) / np.maximum(0.25 * gap, 1.0), 0.0, 1.0)  # under the upper lip
        color = self.palette.cavity[None, None, :] * shade[..., None]
        # A hint of tongue towards the lower lip once the mouth is open enough to see it.
        tongue = np.clip((down - 0.55) / 0.35, 0.0, 1.0) * np.clip(gap / max(0.12 * mouth.width, 1.0) - 0.5, 0.0, 1.0)
        tongue *= np.clip(1.0 - across**4, 0.0, 1.0)
        return color * (1.0 - 0.6 * tongue[..., None]) + self.palette.tongue[None, None, :] * (0.6 * tongue[..., None])

    def _split_reference_interior(self, mouth: MouthFrame, u, v, top, bottom) -> np.ndarray:
        ref = self.reference_frame
        scale = ref.width / mouth.width  # target pixels -> reference pixels
        u_ref = u * scale
        ref_top, ref_bottom = ref.top(u_ref), ref.bottom(u_ref)
        ref_gap = np.maximum(ref_bottom - ref_top, 0.0)
        from_top = (v - top) * scale
        from_bottom = (bottom - v) * scale
        upper_part = np.clip(UPPER_SHARE * ref_gap - from_top + 0.5, 0.0, 1.0)
        lower_part = np.clip((1.0 - UPPER_SHARE) * ref_gap - from_bottom + 0.5, 0.0, 1.0) * (1.0 - upper_part)

        def sample(v_ref: np.ndarray) -> np.ndarray:
            map_x, map_y = ref.to_image(u_ref, v_ref)
            return cv2.remap(self.reference, map_x.astype(np.float32), map_y.astype(np.float32),
                             interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE).astype(np.float32)

        upper_color = sample(ref_top + from_top)
        lower_color = sample(ref_bottom - from_bottom)
        color = self._cavity(mouth, u, v, top, bottom)
        color = color * (1.0 - upper_part[..., None]) + upper_color * upper_part[..., None]
        return color * (1.0 - lower_part[..., None]) + lower_color * lower_part[..., None]

    def _synthetic_interior(self, mouth: MouthFrame, u, v, top, bottom) -> np.ndarray:
        """Cavity, an upper row of teeth under the upper lip (and a lower one when the mouth is wide open),
        shaded like the face and softened like the photo."""
        palette = self.palette
        gap = np.maximum(bottom - top, 0.0)
        across = np.clip(2.0 * u / mouth.width - 1.0, -1.0, 1.0)
        centrality = np.clip(1.0 - across**4, 0.0, 1.0)
        color = self._cavity(mouth, u, v, top, bottom)

        def row_of_teeth(edge_distance: np.ndarray, height: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            """(coverage 0..1, shade) of a row of teeth growing `height` pixels from a lip edge."""
            coverage = (np.clip(height - edge_distance + 0.5, 0.0, 1.0) * np.clip(edge_distance + 0.5, 0.0, 1.0)
                        * np.clip(height, 0.0, 1.0))  # no row at all where it has no height
            tooth = 0.09 * mouth.width  # central incisors; the side teeth get narrower and recede
            offset = np.abs(u - 0.5 * mouth.width) / tooth
            position = np.where(offset < 1.0, offset, 1.0 + (offset - 1.0) * 1.3)
            seam = 0.5 + 0.5 * np.cos(2.0 * np.pi * position)  # 1 at the gaps between teeth (the middle one too)
            relative = np.clip(edge_distance / np.maximum(height, 1.0), 0.0, 1.0)
            # Gaps between teeth show as thin darker lines, deepest towards the biting edge.
            shade = (0.6 + 0.4 * centrality) * (1.0 - (0.1 + 0.15 * relative) * seam**16) * (1.0 - 0.15 * relative)
            return coverage, shade

        # Upper teeth: as tall as the opening allows, up to a tenth of the mouth width, in the lip's shadow.
        upper_height = np.minimum(0.35 * gap, 0.09 * mouth.width) * np.clip(1.2 * centrality - 0.15, 0.0, 1.0)
        upper, upper_shade = row_of_teeth(v - top, upper_height)
        upper_shade = upper_shade * (0.7 + 0.3 * np.clip((v - top) / np.maximum(0.3 * upper_height, 1.0), 0.0, 1.0))
        # Lower teeth: mostly hidden behind the lower lip, a thin row when the mouth is wide open.
        lower_height = np.clip(0.15 * gap - 0.03 * mouth.width, 0.0, 0.05 * mouth.width) * np.clip(1.2 * centrality - 0.3, 0.0, 1.0)
        lower, lower_shade = row_of_teeth(bottom - v, lower_height)
        lower_shade = 0.75 * lower_shade

        teeth = palette.teeth[None, None, :]
        color = color * (1.0 - upper[..., None]) + teeth * (upper * upper_shade)[..., None]
        return color * (1.0 - lower[..., None]) + teeth * (lower * lower_shade)[..., None]
