# cython: boundscheck=False, wraparound=False, cdivision=True
"""Greedy non-maximum suppression ([x1, y1, x2, y2, score], inclusive pixels)."""

import numpy as np

cimport numpy as cnp

cnp.import_array()


def nms(dets, double thresh):
    """Indices of kept boxes, highest score first; a box is dropped if IoU > thresh with a kept one."""
    cdef double[:, ::1] d = np.ascontiguousarray(dets, dtype=np.float64).reshape(-1, 5)
    cdef Py_ssize_t n = d.shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    cdef cnp.int64_t[::1] order = np.argsort(-np.asarray(d[:, 4]), kind="stable").astype(np.int64)
    cdef double[::1] areas = (
        (np.asarray(d[:, 2]) - np.asarray(d[:, 0]) + 1) * (np.asarray(d[:, 3]) - np.asarray(d[:, 1]) + 1)
    )
    suppressed_arr = np.zeros(n, dtype=np.uint8)
    cdef unsigned char[::1] suppressed = suppressed_arr
    keep_arr = np.empty(n, dtype=np.int64)
    cdef cnp.int64_t[::1] keep = keep_arr
    cdef Py_ssize_t oi, oj, i, j, nkeep = 0
    cdef double ix1, iy1, ix2, iy2, iw, ih, inter
    with nogil:
        for oi in range(n):
            i = order[oi]
            if suppressed[i]:
                continue
            keep[nkeep] = i
            nkeep += 1
            for oj in range(oi + 1, n):
                j = order[oj]
                if suppressed[j]:
                    continue
                ix1 = max(d[i, 0], d[j, 0])
                iy1 = max(d[i, 1], d[j, 1])
                ix2 = min(d[i, 2], d[j, 2])
                iy2 = min(d[i, 3], d[j, 3])
                iw = ix2 - ix1 + 1
                ih = iy2 - iy1 + 1
                if iw > 0 and ih > 0:
                    inter = iw * ih
                    if inter / (areas[i] + areas[j] - inter) > thresh:
                        suppressed[j] = 1
    return keep_arr[:nkeep].copy()
