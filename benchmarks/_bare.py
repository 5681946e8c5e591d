"""The bare ``scipy.sparse`` product of the engine's size, the arithmetic floor of its aggregation.

Imports numpy and scipy only, so that ``_compare_worker.py`` can use it against any revision's tree
and ``_common.py`` against this one. Not a test module.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def bare_operands(compiled, n_profiles: int, n_columns: int) -> tuple[sp.csr_matrix, np.ndarray]:
    """CSR elements × profiles with nnz = lines (a random profile and weight per line, the compiled
    line → element structure) and a dense profiles × (modules · indicators) matrix; seeded."""
    rng = np.random.default_rng(0)
    indptr = np.zeros(compiled.n_elements + 1, dtype=np.int32)
    np.cumsum(np.bincount(compiled.line_element, minlength=compiled.n_elements), out=indptr[1:])
    columns = rng.integers(0, n_profiles, compiled.n_lines).astype(np.int32)
    matrix = sp.csr_matrix((rng.random(compiled.n_lines), columns, indptr), shape=(compiled.n_elements, n_profiles))
    return matrix, rng.random((n_profiles, n_columns))
