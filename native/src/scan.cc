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
#include <string>
#include <vector>

#include "modules.h"
#include "simd_exp.h"
#include "typed_array.h"

namespace {

struct ScanDims {
  size_t batch, channels, tokens, state;
};

struct ScanArgs {
  const float* u;
  const float* delta;
  const float* A;
  const float* Bm;
  const float* Cm;
  float* y;
  ScanDims dims;
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

enum class Isa { kScalar, kAvx2, kAvx512 };

Isa DetectIsa() {
#ifdef TU_SIMD_X86
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return Isa::kAvx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return Isa::kAvx2;
#endif
  return Isa::kScalar;
}

const char* IsaName(Isa isa) {
  switch (isa) {
    case Isa::kAvx512: return "avx512";
    case Isa::kAvx2: return "avx2";
    default: return "scalar";
  }
}

void RunScan(const ScanArgs& s, Isa isa) {
  const ScanDims& d = s.dims;
  const size_t L = d.tokens, N = d.state;
  std::vector<float> bt(L * N), ct(L * N);
  std::vector<float> softplus(s.delta_softplus ? L : 0);
  for (size_t b = 0; b < d.batch; ++b) {
    // B and C of this item as (L, N), so each token's states are contiguous.
    const float* bsrc = s.Bm + b * N * L;
    const float* csrc = s.Cm + b * N * L;
    for (size_t n = 0; n < N; ++n) {
      for (size_t t = 0; t < L; ++t) {
        bt[t * N + n] = bsrc[n * L + t];
        ct[t * N + n] = csrc[n * L + t];
      }
    }
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

class ScanWorker : public Napi::AsyncWorker {
 public:
  ScanWorker(Napi::Env env, const Napi::CallbackInfo& info, const ScanArgs& args, Isa isa)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), args_(args), isa_(isa) {
    for (size_t i = 0; i < 6; ++i) refs_.push_back(Napi::Persistent(info[i].As<Napi::Object>()));
  }

  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override { RunScan(args_, isa_); }
  void OnOK() override { deferred_.Resolve(Env().Undefined()); }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::vector<Napi::ObjectReference> refs_;  // keep the arrays alive while the worker uses them
  ScanArgs args_;
  Isa isa_;
};

float* Float32Data(Napi::Value v) {
  Napi::TypedArray a = v.As<Napi::TypedArray>();
  return reinterpret_cast<float*>(static_cast<uint8_t*>(a.ArrayBuffer().Data()) + a.ByteOffset());
}

// selectiveScan(u, delta, A, B, C, y, [batch, channels, tokens, state], [d0, d1], isa?, deltaSoftplus?)
//   -> Promise<void>
// isa: 'avx512', 'avx2' or 'scalar' asks for that kernel (for tests and benchmarks); the best
// one this CPU supports is used when it is absent or not supported. deltaSoftplus: delta is the
// pre-activation and the kernel applies softplus itself (the CPU inference graph fuses it here).
Napi::Value SelectiveScan(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto fail = [&](const std::string& why) {
    Napi::TypeError::New(env, "selectiveScan: " + why).ThrowAsJavaScriptException();
    return env.Null();
  };
  if (info.Length() < 8 || !info[6].IsArray() || !info[7].IsArray()) {
    return fail("expects (u, delta, A, B, C, y, [batch, channels, tokens, state], [d0, d1])");
  }
  Napi::Array dimsArr = info[6].As<Napi::Array>(), rangeArr = info[7].As<Napi::Array>();
  if (dimsArr.Length() != 4 || rangeArr.Length() != 2) return fail("dims must have 4 entries and the range 2");
  int64_t dv[4], rv[2];
  for (uint32_t i = 0; i < 4; ++i) {
    Napi::Value x = dimsArr.Get(i);
    if (!x.IsNumber() || (dv[i] = x.As<Napi::Number>().Int64Value()) < 1) return fail("dims must be positive integers");
  }
  for (uint32_t i = 0; i < 2; ++i) {
    Napi::Value x = rangeArr.Get(i);
    if (!x.IsNumber()) return fail("the channel range must be numbers");
    rv[i] = x.As<Napi::Number>().Int64Value();
  }
  const ScanDims d{static_cast<size_t>(dv[0]), static_cast<size_t>(dv[1]), static_cast<size_t>(dv[2]), static_cast<size_t>(dv[3])};
  if (rv[0] < 0 || rv[1] > dv[1] || rv[0] >= rv[1]) return fail("channel range must satisfy 0 <= d0 < d1 <= channels");
  const char* names[6] = {"u", "delta", "A", "B", "C", "y"};
  const size_t need[6] = {d.batch * d.channels * d.tokens, d.batch * d.channels * d.tokens, d.channels * d.state,
                          d.batch * d.state * d.tokens, d.batch * d.state * d.tokens, d.batch * d.channels * d.tokens};
  for (size_t i = 0; i < 6; ++i) {
    if (!info[i].IsTypedArray() || info[i].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
      return fail(std::string(names[i]) + " must be a Float32Array");
    }
    if (info[i].As<Napi::TypedArray>().ElementLength() != need[i]) {
      return fail(std::string(names[i]) + " has " + std::to_string(info[i].As<Napi::TypedArray>().ElementLength()) +
                  " values, the dims need " + std::to_string(need[i]));
    }
  }
  const bool delta_softplus = info.Length() > 9 && info[9].IsBoolean() && info[9].As<Napi::Boolean>().Value();
  const ScanArgs args{Float32Data(info[0]), Float32Data(info[1]), Float32Data(info[2]), Float32Data(info[3]), Float32Data(info[4]),
                      Float32Data(info[5]), d, static_cast<size_t>(rv[0]), static_cast<size_t>(rv[1]), delta_softplus};
  static const Isa best = DetectIsa();
  Isa isa = best;
  if (info.Length() > 8 && info[8].IsString()) {
    const std::string want = info[8].As<Napi::String>().Utf8Value();
    if (want == "scalar") isa = Isa::kScalar;
    if (want == "avx2" && best != Isa::kScalar) isa = Isa::kAvx2;
  }
  auto* worker = new ScanWorker(env, info, args, isa);
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

Napi::Value ScanIsa(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), IsaName(DetectIsa())); }

}  // namespace

void RegisterScan(Napi::Env env, Napi::Object exports) {
  exports.Set("selectiveScan", Napi::Function::New(env, SelectiveScan, "selectiveScan"));
  exports.Set("selectiveScanIsa", Napi::Function::New(env, ScanIsa, "selectiveScanIsa"));
}
