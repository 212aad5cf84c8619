# cython: boundscheck=False, wraparound=False, cdivision=True
"""IoU matrix of two box sets ([x1, y1, x2, y2], inclusive pixels: width = x2 - x1 + 1)."""

import numpy as np

cimport numpy as cnp

cnp.import_array()


def bbox_overlaps(boxes, query):
    """IoU of every box (N,4) against every query box (K,4) -> (N,K) float64."""
    cdef double[:, ::1] b = np.ascontiguousarray(boxes, dtype=np.float64).reshape(-1, 4)
    cdef double[:, ::1] q = np.ascontiguousarray(query, dtype=np.float64).reshape(-1, 4)
    cdef Py_ssize_t n = b.shape[0], k = q.shape[0], i, j
    out_arr = np.zeros((n, k), dtype=np.float64)
    cdef double[:, ::1] out = out_arr
    cdef double iw, ih, q_area, ua
    with nogil:
        for j in range(k):
            q_area = (q[j, 2] - q[j, 0] + 1) * (q[j, 3] - q[j, 1] + 1)
            for i in range(n):
                iw = min(b[i, 2], q[j, 2]) - max(b[i, 0], q[j, 0]) + 1
                if iw > 0:
                    ih = min(b[i, 3], q[j, 3]) - max(b[i, 1], q[j, 1]) + 1
                    if ih > 0:
                        ua = (b[i, 2] - b[i, 0] + 1) * (b[i, 3] - b[i, 1] + 1) + q_area - iw * ih
                        out[i, j] = iw * ih / ua
    return out_arr
