// The N-API shell the two scan kernels share (scan.cc forward, scan_backward.cc backward): the
// argument checks of (float32 arrays..., [batch, channels, tokens, state], [d0, d1], isa?), the
// kernel choice, and a promise-returning worker that keeps the caller's arrays alive while a libuv
// thread reads and writes them in place.
#pragma once
#include <napi.h>

#include <cstdint>
#include <string>
#include <vector>

#include "simd_exp.h"

namespace scan_call {

struct Dims {
  size_t batch, channels, tokens, state;
};

enum class Isa { kScalar, kAvx2, kAvx512 };

inline Isa DetectIsa() {
#ifdef TU_SIMD_X86
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return Isa::kAvx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return Isa::kAvx2;
#endif
  return Isa::kScalar;
}

inline const char* IsaName(Isa isa) {
  switch (isa) {
    case Isa::kAvx512: return "avx512";
    case Isa::kAvx2: return "avx2";
    default: return "scalar";
  }
}

// src (rows, cols) -> dst (cols, rows). The kernels read B and C token-major, (L, N), each token's
// N states contiguous; the graph holds them as (N, L).
inline void Transpose(const float* src, size_t rows, size_t cols, float* dst) {
  for (size_t r = 0; r < rows; ++r) {
    for (size_t c = 0; c < cols; ++c) dst[c * rows + r] = src[r * cols + c];
  }
}

// A parsed call: the arrays' data in argument order, the dims and the channel range.
struct Call {
  std::vector<float*> arrays;
  Dims dims;
  size_t d0, d1;
  Isa isa;
};

inline float* Float32Data(Napi::Value v) {
  Napi::TypedArray a = v.As<Napi::TypedArray>();
  return reinterpret_cast<float*>(static_cast<uint8_t*>(a.ArrayBuffer().Data()) + a.ByteOffset());
}

// Checks `fn(names..., dims, range, isa?)`, `need(dims)` giving each array's length. On a bad
// argument throws a TypeError naming `fn` and returns false. isa: 'scalar' or 'avx2' asks for that
// kernel (tests, benchmarks); the best one this CPU supports is used otherwise.
template <class Need>
bool ParseCall(const Napi::CallbackInfo& info, const std::string& fn, const std::vector<const char*>& names, Need need,
               Call* out) {
  Napi::Env env = info.Env();
  auto fail = [&](const std::string& why) {
    Napi::TypeError::New(env, fn + ": " + why).ThrowAsJavaScriptException();
    return false;
  };
  const size_t k = names.size();
  if (info.Length() < k + 2 || !info[k].IsArray() || !info[k + 1].IsArray()) {
    std::string list;
    for (const char* n : names) list += std::string(n) + ", ";
    return fail("expects (" + list + "[batch, channels, tokens, state], [d0, d1])");
  }
  Napi::Array dims = info[k].As<Napi::Array>(), range = info[k + 1].As<Napi::Array>();
  if (dims.Length() != 4 || range.Length() != 2) return fail("dims must have 4 entries and the range 2");
  int64_t dv[4], rv[2];
  for (uint32_t i = 0; i < 4; ++i) {
    Napi::Value x = dims.Get(i);
    if (!x.IsNumber() || (dv[i] = x.As<Napi::Number>().Int64Value()) < 1) return fail("dims must be positive integers");
  }
  for (uint32_t i = 0; i < 2; ++i) {
    Napi::Value x = range.Get(i);
    if (!x.IsNumber()) return fail("the channel range must be numbers");
    rv[i] = x.As<Napi::Number>().Int64Value();
  }
  if (rv[0] < 0 || rv[1] > dv[1] || rv[0] >= rv[1]) return fail("channel range must satisfy 0 <= d0 < d1 <= channels");
  out->dims = Dims{static_cast<size_t>(dv[0]), static_cast<size_t>(dv[1]), static_cast<size_t>(dv[2]), static_cast<size_t>(dv[3])};
  out->d0 = static_cast<size_t>(rv[0]);
  out->d1 = static_cast<size_t>(rv[1]);
  const std::vector<size_t> lengths = need(out->dims);
  out->arrays.clear();
  for (size_t i = 0; i < k; ++i) {
    if (!info[i].IsTypedArray() || info[i].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
      return fail(std::string(names[i]) + " must be a Float32Array");
    }
    const size_t have = info[i].As<Napi::TypedArray>().ElementLength();
    if (have != lengths[i]) {
      return fail(std::string(names[i]) + " has " + std::to_string(have) + " values, the dims need " + std::to_string(lengths[i]));
    }
    out->arrays.push_back(Float32Data(info[i]));
  }
  static const Isa best = DetectIsa();
  out->isa = best;
  if (info.Length() > k + 2 && info[k + 2].IsString()) {
    const std::string want = info[k + 2].As<Napi::String>().Utf8Value();
    if (want == "scalar") out->isa = Isa::kScalar;
    if (want == "avx2" && best != Isa::kScalar) out->isa = Isa::kAvx2;
  }
  return true;
}

// Runs `run(args, isa)` on a libuv worker; the promise resolves when it is done.
template <class Args>
class Worker : public Napi::AsyncWorker {
 public:
  using Run = void (*)(const Args&, Isa);
  Worker(const Napi::CallbackInfo& info, size_t arrays, const Args& args, Isa isa, Run run)
      : Napi::AsyncWorker(info.Env()), deferred_(Napi::Promise::Deferred::New(info.Env())), args_(args), isa_(isa), run_(run) {
    for (size_t i = 0; i < arrays; ++i) refs_.push_back(Napi::Persistent(info[i].As<Napi::Object>()));
  }

  void Execute() override { run_(args_, isa_); }
  void OnOK() override { deferred_.Resolve(Env().Undefined()); }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

  static Napi::Value Queue(const Napi::CallbackInfo& info, size_t arrays, const Args& args, Isa isa, Run run) {
    auto* worker = new Worker(info, arrays, args, isa, run);
    Napi::Promise promise = worker->deferred_.Promise();
    worker->Napi::AsyncWorker::Queue();
    return promise;
  }

 private:
  Napi::Promise::Deferred deferred_;
  std::vector<Napi::ObjectReference> refs_;  // keep the arrays alive while the worker uses them
  Args args_;
  Isa isa_;
  Run run_;
};

}  // namespace scan_call
