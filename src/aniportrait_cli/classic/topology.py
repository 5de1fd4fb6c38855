"""Named vertex sets of MediaPipe's 468-point face mesh that the classic engine moves or paints.

Contours run in image order for a frontal face; "upper"/"lower" lid and lip rings share their end (corner)
vertices. Eye A is the eye on the image's right (subject's left), eye B the one on the image's left.
"""

from __future__ import annotations

import numpy as np

# Lips: the inner ring bounds the mouth opening, the outer ring the red of the lips.
LIPS_INNER_UPPER = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308)
LIPS_INNER_LOWER = (78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308)
LIPS_OUTER_UPPER = (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291)
LIPS_OUTER_LOWER = (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291)
MOUTH_CORNERS = (61, 291)
INNER_MOUTH_CORNERS = (78, 308)
UPPER_LIP_CENTER = 13
LOWER_LIP_CENTER = 14

# Eyelids: upper and lower lid margins between the two eye corners (same number of interior points).
EYE_A_UPPER = (263, 466, 388, 387, 386, 385, 384, 398, 362)
EYE_A_LOWER = (263, 249, 390, 373, 374, 380, 381, 382, 362)
EYE_B_UPPER = (33, 246, 161, 160, 159, 158, 157, 173, 133)
EYE_B_LOWER = (33, 7, 163, 144, 145, 153, 154, 155, 133)
EYES = ((EYE_A_UPPER, EYE_A_LOWER), (EYE_B_UPPER, EYE_B_LOWER))

# Outline of the mesh (its only boundary loop), clockwise in the image from the forehead top.
FACE_OVAL = (
    10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377,
    152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109,
)

FOREHEAD_TOP = 10
CHIN = 152
EAR_LEFT_OF_IMAGE = 234
EAR_RIGHT_OF_IMAGE = 454


def inner_lip_polygon() -> np.ndarray:
    """The mouth opening as one closed polygon: upper inner lip left to right, lower inner lip back."""
    return np.array(LIPS_INNER_UPPER + LIPS_INNER_LOWER[-2:0:-1], dtype=np.int64)


def eye_polygon(upper: tuple[int, ...], lower: tuple[int, ...]) -> np.ndarray:
    """An eye opening as one closed polygon (upper lid, then the lower lid back)."""
    return np.array(upper + lower[-2:0:-1], dtype=np.int64)
