"""Box overlap and greedy NMS in Cython, with numpy references in `ctpn_bbox.reference`.

Pixel convention: boxes are [x1, y1, x2, y2] with inclusive pixel coordinates, so a box's
width is ``x2 - x1 + 1`` (the classic Faster R-CNN / CTPN "+1" convention). The Cython
modules and the numpy reference use the same convention.
"""

from ctpn_bbox.bbox import bbox_overlaps
from ctpn_bbox.nms import nms

__all__ = ["bbox_overlaps", "nms"]
