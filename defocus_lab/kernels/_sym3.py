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
    return ((j00 + e * (tr - c00) + e * e) / det, (j01 - e * c01) / det, (j02 - e * c02) / det,
            (j11 + e * (tr - c11) + e * e) / det, (j12 - e * c12) / det, (j22 + e * (tr - c22) + e * e) / det)


@njit(cache=True, nogil=True, inline="always")
def window_inverse(s0, s1, s2, q00, q01, q02, q11, q12, q22, n, e):
    """Colour mean and (Sigma + e I)^-1 of a window from its sums: s_c = sum I_c,
    q_cd = sum I_c I_d, n = the window's weight. Returns (m0, m1, m2, a00, a01, a02, a11, a12, a22)."""
    m0 = s0 / n
    m1 = s1 / n
    m2 = s2 / n
    a00, a01, a02, a11, a12, a22 = sym3_inverse(q00 / n - m0 * m0, q01 / n - m0 * m1, q02 / n - m0 * m2,
                                                q11 / n - m1 * m1, q12 / n - m1 * m2, q22 / n - m2 * m2, e)
    return m0, m1, m2, a00, a01, a02, a11, a12, a22
