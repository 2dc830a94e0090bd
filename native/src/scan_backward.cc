// The backward pass of the Mamba selective scan (scan.cc has the forward), for training on CPU.
//
//   forward:  h_t = a_t * h_{t-1} + delta_t * u_t * B_t,  a_t = exp(delta_t * A),  y_t = <C_t, h_t>
//   backward: g_t = dy_t * C_t + a_{t+1} * g_{t+1}  (g = dL/dh, a reverse-time scan), and from it
//     dC_t += dy_t h_t            dB_t += g_t delta_t u_t         du_t = delta_t <g_t, B_t>
//     ddelta_t = <g_t h_{t-1} a_t, A> + u_t <g_t, B_t>             dA += g_t h_{t-1} a_t delta_t
//
// Per channel the kernel runs the forward recurrence again, keeping every h_t (tokens x N floats
// in a per-call buffer), then the reverse one. Channels are independent except for dB and dC,
// which sum over channels: each call writes the sums over its own channel range into the dB and
// dC arrays it is given (autodiff/scan.ts gives each worker its own and adds them up).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "modules.h"
#include "scan_call.h"

namespace {

using scan_call::Dims;
using scan_call::Isa;

struct BackwardArgs {
  const float *u, *delta, *A, *Bm, *Cm, *dy;
  float *du, *ddelta, *dA, *dB, *dC;
  Dims dims;
  size_t d0, d1;
};

// dA sums over every token: it is summed in blocks of kBlock tokens, then over the blocks, so its
// float32 rounding error grows with kBlock + tokens / kBlock rather than with tokens.
constexpr size_t kBlock = 64;

// One channel. bt, ct: B and C of the item as (L, N); dbt, dct: their gradients, accumulated.
struct Channel {
  const float *u, *delta, *a, *bt, *ct, *dy;
  float *du, *ddelta, *da, *dbt, *dct, *h;
  size_t tokens, state;
};

void BackwardScalar(const Channel& c) {
  const size_t L = c.tokens, N = c.state;
  std::vector<float> h(N, 0.0f), g(N, 0.0f), dA(N, 0.0f), block(N, 0.0f);
  for (size_t t = 0; t < L; ++t) {
    for (size_t n = 0; n < N; ++n) {
      h[n] = std::exp(c.delta[t] * c.a[n]) * h[n] + c.delta[t] * c.u[t] * c.bt[t * N + n];
      c.h[t * N + n] = h[n];
    }
  }
  for (size_t t = L; t-- > 0;) {
    const float dl = c.delta[t], dyt = c.dy[t], du = dl * c.u[t];
    float sum_gb = 0.0f, sum_ga = 0.0f;
    for (size_t n = 0; n < N; ++n) {
      g[n] += dyt * c.ct[t * N + n];
      c.dct[t * N + n] += dyt * c.h[t * N + n];
      const float at = std::exp(dl * c.a[n]);
      const float gah = g[n] * (t > 0 ? c.h[(t - 1) * N + n] : 0.0f) * at;
      sum_ga += gah * c.a[n];
      sum_gb += g[n] * c.bt[t * N + n];
      block[n] += gah * dl;
      c.dbt[t * N + n] += g[n] * du;
      g[n] *= at;
    }
    if (t % kBlock == 0) {
      for (size_t n = 0; n < N; ++n) dA[n] += block[n], block[n] = 0.0f;
    }
    c.ddelta[t] = sum_ga + sum_gb * c.u[t];
    c.du[t] = dl * sum_gb;
  }
  for (size_t n = 0; n < N; ++n) c.da[n] = dA[n];
}

#ifdef TU_SIMD_X86
using simd_exp::Exp16;
using simd_exp::Exp8;

__attribute__((target("avx2,fma"))) inline float Sum8(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// N = 16 as two 8-float halves.
__attribute__((target("avx2,fma"))) void Backward16Avx2(const Channel& c) {
  const size_t L = c.tokens;
  const __m256 a0 = _mm256_loadu_ps(c.a), a1 = _mm256_loadu_ps(c.a + 8);
  __m256 h0 = _mm256_setzero_ps(), h1 = _mm256_setzero_ps();
  for (size_t t = 0; t < L; ++t) {
    const __m256 dl = _mm256_set1_ps(c.delta[t]), du = _mm256_set1_ps(c.delta[t] * c.u[t]);
    h0 = _mm256_fmadd_ps(Exp8(_mm256_mul_ps(dl, a0)), h0, _mm256_mul_ps(du, _mm256_loadu_ps(c.bt + t * 16)));
    h1 = _mm256_fmadd_ps(Exp8(_mm256_mul_ps(dl, a1)), h1, _mm256_mul_ps(du, _mm256_loadu_ps(c.bt + t * 16 + 8)));
    _mm256_storeu_ps(c.h + t * 16, h0);
    _mm256_storeu_ps(c.h + t * 16 + 8, h1);
  }
  __m256 g0 = _mm256_setzero_ps(), g1 = _mm256_setzero_ps(), dA0 = _mm256_setzero_ps(), dA1 = _mm256_setzero_ps();
  __m256 b0 = _mm256_setzero_ps(), b1 = _mm256_setzero_ps();
  for (size_t t = L; t-- > 0;) {
    const float* bt = c.bt + t * 16;
    float* dbt = c.dbt + t * 16;
    float* dct = c.dct + t * 16;
    const __m256 dyt = _mm256_set1_ps(c.dy[t]), dl = _mm256_set1_ps(c.delta[t]), du = _mm256_set1_ps(c.delta[t] * c.u[t]);
    g0 = _mm256_fmadd_ps(dyt, _mm256_loadu_ps(c.ct + t * 16), g0);
    g1 = _mm256_fmadd_ps(dyt, _mm256_loadu_ps(c.ct + t * 16 + 8), g1);
    _mm256_storeu_ps(dct, _mm256_fmadd_ps(dyt, _mm256_loadu_ps(c.h + t * 16), _mm256_loadu_ps(dct)));
    _mm256_storeu_ps(dct + 8, _mm256_fmadd_ps(dyt, _mm256_loadu_ps(c.h + t * 16 + 8), _mm256_loadu_ps(dct + 8)));
    const __m256 at0 = Exp8(_mm256_mul_ps(dl, a0)), at1 = Exp8(_mm256_mul_ps(dl, a1));
    const __m256 hp0 = t > 0 ? _mm256_loadu_ps(c.h + (t - 1) * 16) : _mm256_setzero_ps();
    const __m256 hp1 = t > 0 ? _mm256_loadu_ps(c.h + (t - 1) * 16 + 8) : _mm256_setzero_ps();
    const __m256 gah0 = _mm256_mul_ps(_mm256_mul_ps(g0, hp0), at0), gah1 = _mm256_mul_ps(_mm256_mul_ps(g1, hp1), at1);
    const float sum_gb = Sum8(_mm256_fmadd_ps(g1, _mm256_loadu_ps(bt + 8), _mm256_mul_ps(g0, _mm256_loadu_ps(bt))));
    const float sum_ga = Sum8(_mm256_fmadd_ps(gah1, a1, _mm256_mul_ps(gah0, a0)));
    b0 = _mm256_fmadd_ps(gah0, dl, b0);
    b1 = _mm256_fmadd_ps(gah1, dl, b1);
    if (t % kBlock == 0) {
      dA0 = _mm256_add_ps(dA0, b0), dA1 = _mm256_add_ps(dA1, b1);
      b0 = _mm256_setzero_ps(), b1 = _mm256_setzero_ps();
    }
    _mm256_storeu_ps(dbt, _mm256_fmadd_ps(g0, du, _mm256_loadu_ps(dbt)));
    _mm256_storeu_ps(dbt + 8, _mm256_fmadd_ps(g1, du, _mm256_loadu_ps(dbt + 8)));
    g0 = _mm256_mul_ps(g0, at0);
    g1 = _mm256_mul_ps(g1, at1);
    c.ddelta[t] = sum_ga + sum_gb * c.u[t];
    c.du[t] = c.delta[t] * sum_gb;
  }
  _mm256_storeu_ps(c.da, dA0);
  _mm256_storeu_ps(c.da + 8, dA1);
}

__attribute__((target("avx512f"))) void Backward16Avx512(const Channel& c) {
  const size_t L = c.tokens;
  const __m512 av = _mm512_loadu_ps(c.a);
  __m512 h = _mm512_setzero_ps();
  for (size_t t = 0; t < L; ++t) {
    const __m512 dl = _mm512_set1_ps(c.delta[t]), du = _mm512_set1_ps(c.delta[t] * c.u[t]);
    h = _mm512_fmadd_ps(Exp16(_mm512_mul_ps(dl, av)), h, _mm512_mul_ps(du, _mm512_loadu_ps(c.bt + t * 16)));
    _mm512_storeu_ps(c.h + t * 16, h);
  }
  __m512 g = _mm512_setzero_ps(), dA = _mm512_setzero_ps(), block = _mm512_setzero_ps();
  for (size_t t = L; t-- > 0;) {
    const __m512 dyt = _mm512_set1_ps(c.dy[t]), dl = _mm512_set1_ps(c.delta[t]), du = _mm512_set1_ps(c.delta[t] * c.u[t]);
    g = _mm512_fmadd_ps(dyt, _mm512_loadu_ps(c.ct + t * 16), g);
    _mm512_storeu_ps(c.dct + t * 16, _mm512_fmadd_ps(dyt, _mm512_loadu_ps(c.h + t * 16), _mm512_loadu_ps(c.dct + t * 16)));
    const __m512 at = Exp16(_mm512_mul_ps(dl, av));
    const __m512 hp = t > 0 ? _mm512_loadu_ps(c.h + (t - 1) * 16) : _mm512_setzero_ps();
    const __m512 gah = _mm512_mul_ps(_mm512_mul_ps(g, hp), at);
    const float sum_gb = _mm512_reduce_add_ps(_mm512_mul_ps(g, _mm512_loadu_ps(c.bt + t * 16)));
    const float sum_ga = _mm512_reduce_add_ps(_mm512_mul_ps(gah, av));
    block = _mm512_fmadd_ps(gah, dl, block);
    if (t % kBlock == 0) dA = _mm512_add_ps(dA, block), block = _mm512_setzero_ps();
    _mm512_storeu_ps(c.dbt + t * 16, _mm512_fmadd_ps(g, du, _mm512_loadu_ps(c.dbt + t * 16)));
    g = _mm512_mul_ps(g, at);
    c.ddelta[t] = sum_ga + sum_gb * c.u[t];
    c.du[t] = c.delta[t] * sum_gb;
  }
  _mm512_storeu_ps(c.da, dA);
}
#endif

void RunBackward(const BackwardArgs& s, Isa isa) {
  const Dims& d = s.dims;
  const size_t L = d.tokens, N = d.state;
  std::vector<float> bt(L * N), ct(L * N), dbt(L * N), dct(L * N), h(L * N), row(N);
  for (size_t b = 0; b < d.batch; ++b) {
    scan_call::Transpose(s.Bm + b * N * L, N, L, bt.data());
    scan_call::Transpose(s.Cm + b * N * L, N, L, ct.data());
    std::fill(dbt.begin(), dbt.end(), 0.0f);
    std::fill(dct.begin(), dct.end(), 0.0f);
    for (size_t ch = s.d0; ch < s.d1; ++ch) {
      const size_t off = (b * d.channels + ch) * L;
      const Channel c{s.u + off, s.delta + off, s.A + ch * N, bt.data(), ct.data(), s.dy + off,
                      s.du + off, s.ddelta + off, row.data(), dbt.data(), dct.data(), h.data(), L, N};
#ifdef TU_SIMD_X86
      if (N == 16 && isa == Isa::kAvx512) Backward16Avx512(c);
      else if (N == 16 && isa == Isa::kAvx2) Backward16Avx2(c);
      else BackwardScalar(c);
#else
      BackwardScalar(c);
#endif
      // dA sums over the batch: each item's row is added to what earlier items left.
      float* da = s.dA + ch * N;
      for (size_t n = 0; n < N; ++n) da[n] = (b == 0 ? 0.0f : da[n]) + row[n];
    }
    scan_call::Transpose(dbt.data(), L, N, s.dB + b * N * L);
    scan_call::Transpose(dct.data(), L, N, s.dC + b * N * L);
  }
}

// selectiveScanBackward(u, delta, A, B, C, dy, du, ddelta, dA, dB, dC,
//                       [batch, channels, tokens, state], [d0, d1], isa?) -> Promise<void>
// Writes du, ddelta and the rows of dA for channels [d0, d1), and into dB and dC the sums over
// those channels only. isa: see scan_call.h.
Napi::Value SelectiveScanBackward(const Napi::CallbackInfo& info) {
  scan_call::Call call;
  const auto need = [](const Dims& d) {
    const size_t seq = d.batch * d.channels * d.tokens, bc = d.batch * d.state * d.tokens, a = d.channels * d.state;
    return std::vector<size_t>{seq, seq, a, bc, bc, seq, seq, seq, a, bc, bc};
  };
  const std::vector<const char*> names{"u", "delta", "A", "B", "C", "dy", "du", "ddelta", "dA", "dB", "dC"};
  if (!scan_call::ParseCall(info, "selectiveScanBackward", names, need, &call)) return info.Env().Null();
  const auto& a = call.arrays;
  const BackwardArgs args{a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], call.dims, call.d0, call.d1};
  return scan_call::Worker<BackwardArgs>::Queue(info, names.size(), args, call.isa, RunBackward);
}

}  // namespace

void RegisterScanBackward(Napi::Env env, Napi::Object exports) {
  exports.Set("selectiveScanBackward", Napi::Function::New(env, SelectiveScanBackward, "selectiveScanBackward"));
}
