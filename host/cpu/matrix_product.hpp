// Matrix-matrix products of the CPU backend's batched plan (plan/step_plan.hpp, PlanProduct):
// C = op(A)·op(B) + beta·C on row-major matrices, in float or double, through BLAS (OpenBLAS's
// CBLAS, when the build found it: DESCENT_HAVE_CBLAS) or, without it, the loops below, which
// add each element's k products in order. Either way a product runs on the calling thread (BLAS
// with one thread: the CPU backend shares a batch among its own threads), so its result depends
// only on its operands and sizes.
//
// Does not: choose what to batch (the step plan does) or lay out tiles (the CPU backend does).
#pragma once

#include <cstdint>
#include <string>

namespace descent {

enum class Transpose : bool { no = false, yes = true };

// C (m × n, leading dimension ldc) = op(A) (m × k) · op(B) (k × n) + beta·C, where op(X) is X or
// Xᵀ; A and B are row-major with leading dimensions lda and ldb (the length of a stored row).
// beta = 0 overwrites C without reading it.
template <class T>
void matrix_product(Transpose ta, Transpose tb, std::int64_t m, std::int64_t n, std::int64_t k,
                    const T* a, std::int64_t lda, const T* b, std::int64_t ldb, T beta, T* c,
                    std::int64_t ldc);

// What computes the products, for logs: OpenBLAS's configuration line, or "built-in loops (no
// BLAS in this build)".
std::string matrix_product_library();

}  // namespace descent
