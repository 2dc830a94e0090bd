// Intensity histogram of a voxel array, computed on a libuv worker thread.
// Used by the contrast control and the percentile window of uint16/float volumes.
#include <cmath>
#include <cstdint>
#include <vector>

#include "modules.h"
#include "typed_array.h"

namespace {

template <typename T>
void Accumulate(const T* data, size_t n, double lo, double hi, std::vector<double>& counts) {
  const size_t bins = counts.size();
  const double scale = hi > lo ? bins / (hi - lo) : 0.0;
  for (size_t i = 0; i < n; ++i) {
    const double v = static_cast<double>(data[i]);
    if (!(v >= lo && v <= hi)) continue;  // also drops NaN
    size_t b = static_cast<size_t>((v - lo) * scale);
    if (b >= bins) b = bins - 1;
    counts[b] += 1.0;
  }
}

class HistogramWorker : public Napi::AsyncWorker {
 public:
  HistogramWorker(Napi::Env env, Napi::TypedArray array, size_t bins, double lo, double hi)
      : Napi::AsyncWorker(env),
        deferred_(Napi::Promise::Deferred::New(env)),
        ref_(Napi::Persistent(array.As<Napi::Object>())),
        type_(array.TypedArrayType()),
        data_(static_cast<uint8_t*>(array.ArrayBuffer().Data()) + array.ByteOffset()),
        length_(array.ElementLength()),
        lo_(lo),
        hi_(hi),
        counts_(bins, 0.0) {}

  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    switch (type_) {
      case napi_uint8_array: Accumulate(reinterpret_cast<const uint8_t*>(data_), length_, lo_, hi_, counts_); break;
      case napi_uint16_array: Accumulate(reinterpret_cast<const uint16_t*>(data_), length_, lo_, hi_, counts_); break;
      case napi_float32_array: Accumulate(reinterpret_cast<const float*>(data_), length_, lo_, hi_, counts_); break;
      default: SetError("histogram: array must be uint8, uint16 or float32");
    }
  }

  void OnOK() override {
    Napi::Float64Array out = Napi::Float64Array::New(Env(), counts_.size());
    for (size_t i = 0; i < counts_.size(); ++i) out[i] = counts_[i];
    deferred_.Resolve(out);
  }

  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  Napi::ObjectReference ref_;  // keeps the array alive while the worker reads it
  napi_typedarray_type type_;
  const uint8_t* data_;
  size_t length_;
  double lo_, hi_;
  std::vector<double> counts_;
};

// histogram(array, bins, min, max) -> Promise<Float64Array of counts>
Napi::Value Histogram(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 4 || !RequireTypedArray(env, info[0], "histogram: array")) return env.Null();
  if (!info[1].IsNumber() || !info[2].IsNumber() || !info[3].IsNumber()) {
    Napi::TypeError::New(env, "histogram: bins, min and max must be numbers").ThrowAsJavaScriptException();
    return env.Null();
  }
  const int64_t bins = info[1].As<Napi::Number>().Int64Value();
  const double lo = info[2].As<Napi::Number>().DoubleValue();
  const double hi = info[3].As<Napi::Number>().DoubleValue();
  if (bins < 1 || bins > (1 << 20) || !std::isfinite(lo) || !std::isfinite(hi) || hi < lo) {
    Napi::RangeError::New(env, "histogram: need 1 <= bins <= 1048576 and finite min <= max").ThrowAsJavaScriptException();
    return env.Null();
  }
  auto* worker = new HistogramWorker(env, info[0].As<Napi::TypedArray>(), static_cast<size_t>(bins), lo, hi);
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

}  // namespace

void RegisterHistogram(Napi::Env env, Napi::Object exports) {
  exports.Set("histogram", Napi::Function::New(env, Histogram, "histogram"));
}
