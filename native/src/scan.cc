// The Mamba selective scan (TOKENUNIFY.md 3.1), fused and sequential, for the CPU provider.
// ONNX Runtime runs the graph before and after it; this kernel runs between, on a libuv worker,
// reading and writing the runtime's typed arrays in place.
//
//   u, delta (B, Di, L); A (Di, N); Bm, Cm (B, N, L)  ->  y (B, Di, L)
//   h_t = exp(delta_t * A) * h_{t-1} + delta_t * Bm_t * u_t   (h_{-1} = 0, per channel, N states)
//   y_t = sum_n Cm_t[n] * h_t[n]
//
// Channels are independent, so a call takes a channel range [d0, d1) and the caller may split
// one scan over several workers. Each channel keeps its N states in registers: with N = 16 one
// AVX-512 vector or two AVX2 vectors, chosen at run time; other CPUs use the scalar loop.
// The backward (training) is scan_backward.cc: a reverse-time scan with the same exp.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "modules.h"
#include "scan_call.h"

namespace {

using scan_call::Dims;
using scan_call::Isa;

struct ScanArgs {
  const float* u;
  const float* delta;
  const float* A;
  const float* Bm;
  const float* Cm;
  float* y;
  Dims dims;
  size_t d0, d1;
  // delta holds the pre-activation: use softplus(delta) (threshold 20, as the official kernel).
  bool delta_softplus;
};

// One channel of one batch item. bt, ct: that item's B and C transposed to (L, N).
void ScanChannelScalar(const float* u, const float* delta, const float* a, const float* bt, const float* ct, float* y,
                       size_t tokens, size_t n_state) {
  std::vector<float> h(n_state, 0.0f);
  for (size_t t = 0; t < tokens; ++t) {
    const float dl = delta[t];
    const float du = dl * u[t];
    const float* b = bt + t * n_state;
    const float* c = ct + t * n_state;
    float acc = 0.0f;
    for (size_t n = 0; n < n_state; ++n) {
      h[n] = std::exp(dl * a[n]) * h[n] + du * b[n];
      acc += h[n] * c[n];
    }
    y[t] = acc;
  }
}

#ifdef TU_SIMD_X86
using simd_exp::Exp16;
using simd_exp::Exp8;

__attribute__((target("avx2,fma"))) void ScanChannel16Avx2(const float* u, const float* delta, const float* a, const float* bt,
                                                          const float* ct, float* y, size_t tokens) {
  const __m256 a0 = _mm256_loadu_ps(a), a1 = _mm256_loadu_ps(a + 8);
  __m256 h0 = _mm256_setzero_ps(), h1 = _mm256_setzero_ps();
  for (size_t t = 0; t < tokens; ++t) {
    const __m256 dl = _mm256_set1_ps(delta[t]);
    const __m256 du = _mm256_set1_ps(delta[t] * u[t]);
    const float* b = bt + t * 16;
    const float* c = ct + t * 16;
    h0 = _mm256_fmadd_ps(Exp8(_mm256_mul_ps(dl, a0)), h0, _mm256_mul_ps(du, _mm256_loadu_ps(b)));
    h1 = _mm256_fmadd_ps(Exp8(_mm256_mul_ps(dl, a1)), h1, _mm256_mul_ps(du, _mm256_loadu_ps(b + 8)));
    __m256 p = _mm256_fmadd_ps(h1, _mm256_loadu_ps(c + 8), _mm256_mul_ps(h0, _mm256_loadu_ps(c)));
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(p), _mm256_extractf128_ps(p, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    y[t] = _mm_cvtss_f32(s);
  }
}

__attribute__((target("avx512f"))) void ScanChannel16Avx512(const float* u, const float* delta, const float* a, const float* bt,
                                                            const float* ct, float* y, size_t tokens) {
  const __m512 av = _mm512_loadu_ps(a);
  __m512 h = _mm512_setzero_ps();
  for (size_t t = 0; t < tokens; ++t) {
    const __m512 dl = _mm512_set1_ps(delta[t]);
    const __m512 du = _mm512_set1_ps(delta[t] * u[t]);
    h = _mm512_fmadd_ps(Exp16(_mm512_mul_ps(dl, av)), h, _mm512_mul_ps(du, _mm512_loadu_ps(bt + t * 16)));
    y[t] = _mm512_reduce_add_ps(_mm512_mul_ps(h, _mm512_loadu_ps(ct + t * 16)));
  }
}
#endif

void RunScan(const ScanArgs& s, Isa isa) {
  const Dims& d = s.dims;
  const size_t L = d.tokens, N = d.state;
  std::vector<float> bt(L * N), ct(L * N);
  std::vector<float> softplus(s.delta_softplus ? L : 0);
  for (size_t b = 0; b < d.batch; ++b) {
    scan_call::Transpose(s.Bm + b * N * L, N, L, bt.data());
    scan_call::Transpose(s.Cm + b * N * L, N, L, ct.data());
    for (size_t ch = s.d0; ch < s.d1; ++ch) {
      const size_t off = (b * d.channels + ch) * L;
      const float* a = s.A + ch * N;
      const float* delta = s.delta + off;
      if (s.delta_softplus) {
        for (size_t t = 0; t < L; ++t) softplus[t] = delta[t] > 20.0f ? delta[t] : std::log1p(std::exp(delta[t]));
        delta = softplus.data();
      }
#ifdef TU_SIMD_X86
      if (N == 16 && isa == Isa::kAvx512) {
        ScanChannel16Avx512(s.u + off, delta, a, bt.data(), ct.data(), s.y + off, L);
        continue;
      }
      if (N == 16 && isa == Isa::kAvx2) {
        ScanChannel16Avx2(s.u + off, delta, a, bt.data(), ct.data(), s.y + off, L);
        continue;
      }
#endif
      ScanChannelScalar(s.u + off, delta, a, bt.data(), ct.data(), s.y + off, L, N);
    }
  }
}

// selectiveScan(u, delta, A, B, C, y, [batch, channels, tokens, state], [d0, d1], isa?, deltaSoftplus?)
//   -> Promise<void>
// deltaSoftplus: delta is the pre-activation and the kernel applies softplus itself (the CPU
// inference graph fuses it here). isa: see scan_call.h.
Napi::Value SelectiveScan(const Napi::CallbackInfo& info) {
  scan_call::Call call;
  const auto need = [](const Dims& d) {
    const size_t seq = d.batch * d.channels * d.tokens, bc = d.batch * d.state * d.tokens;
    return std::vector<size_t>{seq, seq, d.channels * d.state, bc, bc, seq};
  };
  if (!scan_call::ParseCall(info, "selectiveScan", {"u", "delta", "A", "B", "C", "y"}, need, &call)) return info.Env().Null();
  const bool delta_softplus = info.Length() > 9 && info[9].IsBoolean() && info[9].As<Napi::Boolean>().Value();
  const auto& a = call.arrays;
  const ScanArgs args{a[0], a[1], a[2], a[3], a[4], a[5], call.dims, call.d0, call.d1, delta_softplus};
  return scan_call::Worker<ScanArgs>::Queue(info, 6, args, call.isa, RunScan);
}

Napi::Value ScanIsa(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), scan_call::IsaName(scan_call::DetectIsa()));
}

}  // namespace

void RegisterScan(Napi::Env env, Napi::Object exports) {
  exports.Set("selectiveScan", Napi::Function::New(env, SelectiveScan, "selectiveScan"));
  exports.Set("selectiveScanIsa", Napi::Function::New(env, ScanIsa, "selectiveScanIsa"));
}
