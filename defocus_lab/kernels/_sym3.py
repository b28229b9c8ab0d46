"""The regularised inverse of a symmetric 3x3 covariance, shared by the window kernels."""
from numba import njit


@njit(cache=True, nogil=True, inline="always")
def sym3_inverse(c00, c01, c02, c11, c12, c22, e):
    """Entries (00, 01, 02, 11, 12, 22) of (C + e I)^-1 for a symmetric positive semi-definite C.

    Formed as (adj(C) + e (tr(C) I - C) + e^2 I) / det(C + e I), which keeps the e-terms exact
    when C is (nearly) singular: the plain adjugate of C + e I loses them to cancellation
    (~1e-9 relative at e ~ 1e-8), and that error reaches every product wherever a window's
    colours are collinear (grey or two-tone regions).
    """
    j00 = c11 * c22 - c12 * c12
    j01 = c02 * c12 - c01 * c22
    j02 = c01 * c12 - c02 * c11
    j11 = c00 * c22 - c02 * c02
    j12 = c01 * c02 - c00 * c12
    j22 = c00 * c11 - c01 * c01
    tr = c00 + c11 + c22
    det_c = c00 * j00 + c01 * j01 + c02 * j02
    det = det_c + e * (j00 + j11 + j22) + e * e * tr + e * e * e
    # one division and six products instead of six divisions (with window_inverse's and the
    # guided fit's own: 3 divisions per window instead of 19; benchmarks/design-notes.md)
    q = 1.0 / det
    return ((j00 + e * (tr - c00) + e * e) * q, (j01 - e * c01) * q, (j02 - e * c02) * q,
            (j11 + e * (tr - c11) + e * e) * q, (j12 - e * c12) * q, (j22 + e * (tr - c22) + e * e) * q)


@njit(cache=True, nogil=True, inline="always")
def window_inverse(s0, s1, s2, q00, q01, q02, q11, q12, q22, n, e):
    """Colour mean and (Sigma + e I)^-1 of a window from its sums: s_c = sum I_c,
    q_cd = sum I_c I_d, n = the window's weight. Returns (m0, m1, m2, a00, a01, a02, a11, a12, a22)."""
    rn = 1.0 / n
    m0 = s0 * rn
    m1 = s1 * rn
    m2 = s2 * rn
    a00, a01, a02, a11, a12, a22 = sym3_inverse(q00 * rn - m0 * m0, q01 * rn - m0 * m1, q02 * rn - m0 * m2,
                                                q11 * rn - m1 * m1, q12 * rn - m1 * m2, q22 * rn - m2 * m2, e)
    return m0, m1, m2, a00, a01, a02, a11, a12, a22
