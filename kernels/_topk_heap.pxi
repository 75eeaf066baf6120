# Included by topn.pyx and knn.pyx (the fused k-NN recommend kernel): one size-k heap per row.
# Needs INFINITY (libc.math) and the i64 typedef in the including module.

cdef inline bint _worse(double s1, i64 j1, double s2, i64 j2) noexcept nogil:
    return s1 < s2 or (s1 == s2 and j1 > j2)


cdef inline void _sift_down(double* hs, i64* hj, Py_ssize_t n, Py_ssize_t root) noexcept nogil:
    cdef Py_ssize_t child
    cdef double s
    cdef i64 j
    while True:
        child = 2 * root + 1
        if child >= n:
            return
        if child + 1 < n and _worse(hs[child + 1], hj[child + 1], hs[child], hj[child]):
            child += 1
        if not _worse(hs[child], hj[child], hs[root], hj[root]):
            return
        s, j = hs[root], hj[root]
        hs[root], hj[root] = hs[child], hj[child]
        hs[child], hj[child] = s, j
        root = child


cdef inline void _sift_up(double* hs, i64* hj, Py_ssize_t pos) noexcept nogil:
    cdef Py_ssize_t parent
    cdef double s
    cdef i64 j
    while pos > 0:
        parent = (pos - 1) >> 1
        if not _worse(hs[pos], hj[pos], hs[parent], hj[parent]):
            return
        s, j = hs[pos], hj[pos]
        hs[pos], hj[pos] = hs[parent], hj[parent]
        hs[parent], hj[parent] = s, j
        pos = parent


cdef void _top_row(const double* scores, Py_ssize_t n_items, Py_ssize_t k, double* hs, i64* hj) noexcept nogil:
    cdef Py_ssize_t j, n = 0, end
    cdef double s
    cdef i64 tj
    for j in range(n_items):
        s = scores[j]
        if s == -INFINITY:
            continue
        if n < k:
            hs[n] = s
            hj[n] = j
            _sift_up(hs, hj, n)
            n += 1
        elif s > hs[0]:  # items come in index order: an equal score never displaces a smaller index
            hs[0] = s
            hj[0] = j
            _sift_down(hs, hj, n, 0)
    end = n - 1
    while end > 0:
        s, tj = hs[0], hj[0]
        hs[0], hj[0] = hs[end], hj[end]
        hs[end], hj[end] = s, tj
        _sift_down(hs, hj, end, 0)
        end -= 1
    for j in range(n, k):
        hs[j] = -INFINITY
        hj[j] = -1
