// A batched plan's matrix product as the backend asks a device for it (row-major, the plan's
// terms) and as a column-major BLAS takes it (cuBLAS), with the one translation between them,
// so that it is tested on machines without a GPU (tests/codegen_matrix_call_test.cpp) and the
// CUDA backend only passes the result on.
//
// Does not: multiply (the host executor and cuBLAS do).
#pragma once

namespace descent::codegen {

// C (m × n) = op(A) (m × k) · op(B) (k × n), with leading dimensions lda, ldb, ldc (op(X) = Xᵀ
// when transposed), in a storage order that the two types below name.
template <class Real>
struct ProductArguments {
  bool transpose_a = false, transpose_b = false;
  long long m = 0, n = 0, k = 0;
  const Real* a = nullptr;
  long long lda = 0;
  const Real* b = nullptr;
  long long ldb = 0;
  Real* c = nullptr;
  long long ldc = 0;
};

// Row-major: a batched plan's matrix product as the backend asks a device for it.
template <class Real>
struct MatrixProductCall : ProductArguments<Real> {};

// Column-major, as a BLAS takes it, with its argument names. A row-major matrix X with leading
// dimension ld is, read column-major with the same ld, Xᵀ; so row-major C = op(A)·op(B) is
// column-major Cᵀ = op(B)ᵀ·op(A)ᵀ: the operands swap, m and n swap, and each keeps its own
// transposition flag and leading dimension.
template <class Real>
struct ColumnMajorCall : ProductArguments<Real> {};

template <class Real>
ColumnMajorCall<Real> column_major(const MatrixProductCall<Real>& r) {
  ColumnMajorCall<Real> c;
  c.transpose_a = r.transpose_b;
  c.transpose_b = r.transpose_a;
  c.m = r.n;
  c.n = r.m;
  c.k = r.k;
  c.a = r.b;
  c.lda = r.ldb;
  c.b = r.a;
  c.ldb = r.lda;
  c.c = r.c;
  c.ldc = r.ldc;
  return c;
}

}  // namespace descent::codegen
