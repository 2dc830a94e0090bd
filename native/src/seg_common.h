// Shared pieces of the segmentation modules: argument parsing, typed views of affinities and
// label volumes, the promise-returning worker, and a flat hash map for id pairs.
//
// Affinity convention (TOKENUNIFY.md section 4): an affinity volume is (3, z, y, x) in C order;
// channel c links voxel p to its predecessor along axis c (z, y, x). Values are float32 in [0, 1]
// or uint8 meaning value / 255.
#pragma once
#include <napi.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "typed_array.h"

namespace seg {

struct Shape {
  int64_t z = 0, y = 0, x = 0;
  size_t Voxels() const { return static_cast<size_t>(z) * static_cast<size_t>(y) * static_cast<size_t>(x); }
};

// Half-open voxel box (z0, y0, x0) .. (z1, y1, x1).
struct Box {
  int64_t z0 = 0, y0 = 0, x0 = 0, z1 = 0, y1 = 0, x1 = 0;
  size_t Voxels() const { return static_cast<size_t>(z1 - z0) * static_cast<size_t>(y1 - y0) * static_cast<size_t>(x1 - x0); }
};

inline Box WholeBox(const Shape& s) { return Box{0, 0, 0, s.z, s.y, s.x}; }

// Affinities as values in [0, 1]; uint8 input is value / 255 (the same float32 division NumPy does).
inline float AffValue(const float* a, size_t i) { return a[i]; }
inline float AffValue(const uint8_t* a, size_t i) {
  static const struct Table {
    float v[256];
    Table() {
      for (int u = 0; u < 256; ++u) v[u] = static_cast<float>(u) / 255.0f;
    }
  } table;
  return table.v[a[i]];
}

// waterz's discretisation of a value in [0, 1] into `levels` bins (values outside are clamped).
inline int Discretize(float v, int levels) {
  if (!(v < 1.0f)) return levels - 1;
  if (v <= 0.0f) return 0;
  const int b = static_cast<int>(v * levels);
  return b < levels - 1 ? b : levels - 1;
}

// The 256-bin histogram bin of an affinity; the representative value of bin b is (b + 0.5) / 256.
inline uint8_t AffBin(const float* a, size_t i) { return static_cast<uint8_t>(Discretize(a[i], 256)); }
inline uint8_t AffBin(const uint8_t* a, size_t i) {
  static const struct Table {
    uint8_t b[256];
    Table() {
      for (int u = 0; u < 256; ++u) b[u] = static_cast<uint8_t>(Discretize(static_cast<float>(u) / 255.0f, 256));
    }
  } table;
  return table.b[a[i]];
}
inline double BinValue(int bin) { return (bin + 0.5) / 256.0; }

inline bool IsNaN(const float* a, size_t i) { return std::isnan(a[i]); }
inline bool IsNaN(const uint8_t*, size_t) { return false; }

// A borrowed typed array: pointer into the JS ArrayBuffer, no copy. The worker that holds it keeps
// a reference to the JS object so it stays alive while a libuv thread reads it.
struct ArrayArg {
  napi_typedarray_type type = napi_int8_array;
  void* data = nullptr;
  size_t length = 0;
};

inline ArrayArg ViewOf(const Napi::TypedArray& a) {
  ArrayArg out;
  out.type = a.TypedArrayType();
  out.data = static_cast<uint8_t*>(a.ArrayBuffer().Data()) + a.ByteOffset();
  out.length = a.ElementLength();
  return out;
}

inline void ThrowType(Napi::Env env, const std::string& msg) { Napi::TypeError::New(env, msg).ThrowAsJavaScriptException(); }
inline void ThrowRange(Napi::Env env, const std::string& msg) { Napi::RangeError::New(env, msg).ThrowAsJavaScriptException(); }

// Reads a [z, y, x] shape of positive integers. Throws (returns false) otherwise.
inline bool GetShape(Napi::Env env, const Napi::Value& v, const std::string& fn, Shape& out) {
  if (!v.IsArray() || v.As<Napi::Array>().Length() != 3) {
    ThrowType(env, fn + ": shape must be [z, y, x]");
    return false;
  }
  Napi::Array a = v.As<Napi::Array>();
  int64_t d[3];
  for (uint32_t i = 0; i < 3; ++i) {
    Napi::Value e = a.Get(i);
    const double x = e.IsNumber() ? e.As<Napi::Number>().DoubleValue() : -1;
    if (!(x >= 1) || x != std::floor(x) || x > 1e12) {
      ThrowRange(env, fn + ": shape must hold three positive integers (an empty volume has nothing to segment)");
      return false;
    }
    d[i] = static_cast<int64_t>(x);
  }
  out = Shape{d[0], d[1], d[2]};
  return true;
}

// Reads a box [z0, y0, x0, z1, y1, x1] inside `shape`; undefined/null means the whole volume.
inline bool GetBox(Napi::Env env, const Napi::Value& v, const Shape& s, const std::string& fn, Box& out) {
  if (v.IsUndefined() || v.IsNull()) {
    out = WholeBox(s);
    return true;
  }
  if (!v.IsArray() || v.As<Napi::Array>().Length() != 6) {
    ThrowType(env, fn + ": box must be [z0, y0, x0, z1, y1, x1]");
    return false;
  }
  Napi::Array a = v.As<Napi::Array>();
  int64_t d[6];
  for (uint32_t i = 0; i < 6; ++i) {
    Napi::Value e = a.Get(i);
    const double x = e.IsNumber() ? e.As<Napi::Number>().DoubleValue() : -1;
    if (!(x >= 0) || x != std::floor(x)) {
      ThrowRange(env, fn + ": box coordinates must be non-negative integers");
      return false;
    }
    d[i] = static_cast<int64_t>(x);
  }
  out = Box{d[0], d[1], d[2], d[3], d[4], d[5]};
  if (out.z0 >= out.z1 || out.y0 >= out.y1 || out.x0 >= out.x1 || out.z1 > s.z || out.y1 > s.y || out.x1 > s.x) {
    ThrowRange(env, fn + ": box is empty or outside the volume");
    return false;
  }
  return true;
}

// Affinities (3, z, y, x) as float32 or uint8.
inline bool GetAffinities(Napi::Env env, const Napi::Value& v, const Shape& s, const std::string& fn, ArrayArg& out) {
  if (!RequireTypedArray(env, v, (fn + ": affinities").c_str())) return false;
  out = ViewOf(v.As<Napi::TypedArray>());
  if (out.type != napi_float32_array && out.type != napi_uint8_array) {
    ThrowType(env, fn + ": affinities must be float32 or uint8, not " + TypedArrayTypeName(out.type));
    return false;
  }
  if (out.length != 3 * s.Voxels()) {
    ThrowRange(env, fn + ": affinities hold " + std::to_string(out.length) + " values; shape (3, " + std::to_string(s.z) + ", " +
                        std::to_string(s.y) + ", " + std::to_string(s.x) + ") needs " + std::to_string(3 * s.Voxels()));
    return false;
  }
  return true;
}

// A label volume (uint32 or uint64) of `expect` voxels (0 = any length).
inline bool GetLabels(Napi::Env env, const Napi::Value& v, size_t expect, const std::string& what, ArrayArg& out) {
  if (!RequireTypedArray(env, v, what.c_str())) return false;
  out = ViewOf(v.As<Napi::TypedArray>());
  if (out.type != napi_uint32_array && out.type != napi_biguint64_array) {
    ThrowType(env, what + " must be uint32 or uint64 labels, not " + TypedArrayTypeName(out.type));
    return false;
  }
  if (expect != 0 && out.length != expect) {
    ThrowRange(env, what + " holds " + std::to_string(out.length) + " voxels; the shape needs " + std::to_string(expect));
    return false;
  }
  return true;
}

// Calls f(const float*) or f(const uint8_t*).
template <typename F>
void WithAffinities(const ArrayArg& a, F&& f) {
  if (a.type == napi_uint8_array) f(static_cast<const uint8_t*>(a.data));
  else f(static_cast<const float*>(a.data));
}

// Calls f(uint32_t*) or f(uint64_t*).
template <typename F>
void WithLabels(const ArrayArg& a, F&& f) {
  if (a.type == napi_uint32_array) f(static_cast<uint32_t*>(a.data));
  else f(static_cast<uint64_t*>(a.data));
}

// Neighbours of voxel i in a (nz, ny, nx) block, 6-connected (4 when nz == 1).
template <typename F>
inline void ForNeighbours(size_t i, int64_t nz, int64_t ny, int64_t nx, F&& f) {
  const size_t plane = static_cast<size_t>(ny) * nx;
  const int64_t x = static_cast<int64_t>(i % nx);
  const int64_t y = static_cast<int64_t>((i / nx) % ny);
  const int64_t z = static_cast<int64_t>(i / plane);
  if (x > 0) f(i - 1);
  if (x + 1 < nx) f(i + 1);
  if (y > 0) f(i - nx);
  if (y + 1 < ny) f(i + nx);
  if (z > 0) f(i - plane);
  if (z + 1 < nz) f(i + plane);
}

// A priority queue over integer levels 0..levels-1, lowest level first, FIFO within a level.
template <typename T>
class BucketQueue {
 public:
  explicit BucketQueue(int levels) : buckets_(levels), heads_(levels, 0), cur_(levels) {}
  void Push(int level, T v) {
    buckets_[level].push_back(v);
    if (level < cur_) cur_ = level;
  }
  bool Pop(T& v) {
    const int n = static_cast<int>(buckets_.size());
    while (cur_ < n && heads_[cur_] == buckets_[cur_].size()) {
      buckets_[cur_].clear();
      heads_[cur_] = 0;
      ++cur_;
    }
    if (cur_ == n) return false;
    v = buckets_[cur_][heads_[cur_]++];
    return true;
  }

 private:
  std::vector<std::vector<T>> buckets_;
  std::vector<size_t> heads_;
  int cur_;
};

// A worker on the libuv pool that settles a Promise. Subclasses fill Execute() and Result().
class PromiseWorker : public Napi::AsyncWorker {
 public:
  explicit PromiseWorker(Napi::Env env) : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }
  // Keeps a JS object (typically a typed array being read without a copy) alive until settled.
  void Keep(const Napi::Value& v) { refs_.push_back(Napi::Persistent(v.As<Napi::Object>())); }

 protected:
  virtual Napi::Value Result(Napi::Env env) = 0;
  void OnOK() override { deferred_.Resolve(Result(Env())); }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::vector<Napi::ObjectReference> refs_;
};

// Queues `w` and returns its promise.
inline Napi::Value Start(PromiseWorker* w) {
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

template <typename T, typename ArrayT>
Napi::Value CopyOut(Napi::Env env, const std::vector<T>& v) {
  ArrayT out = ArrayT::New(env, v.size());
  if (!v.empty()) std::memcpy(out.Data(), v.data(), v.size() * sizeof(T));
  return out;
}
inline Napi::Value U32Out(Napi::Env env, const std::vector<uint32_t>& v) { return CopyOut<uint32_t, Napi::Uint32Array>(env, v); }
inline Napi::Value F32Out(Napi::Env env, const std::vector<float>& v) { return CopyOut<float, Napi::Float32Array>(env, v); }
inline Napi::Value F64Out(Napi::Env env, const std::vector<double>& v) { return CopyOut<double, Napi::Float64Array>(env, v); }
inline Napi::Value U8Out(Napi::Env env, const std::vector<uint8_t>& v) { return CopyOut<uint8_t, Napi::Uint8Array>(env, v); }
// Ids out as the caller's label type: Uint32Array or BigUint64Array.
inline Napi::Value IdsOut(Napi::Env env, const std::vector<uint64_t>& v, bool wide) {
  if (wide) {
    Napi::TypedArrayOf<uint64_t> out = Napi::TypedArrayOf<uint64_t>::New(env, v.size(), napi_biguint64_array);
    if (!v.empty()) std::memcpy(out.Data(), v.data(), v.size() * sizeof(uint64_t));
    return out;
  }
  Napi::Uint32Array out = Napi::Uint32Array::New(env, v.size());
  for (size_t i = 0; i < v.size(); ++i) out[i] = static_cast<uint32_t>(v[i]);
  return out;
}

// Open-addressing hash map from a 64-bit key to a 32-bit value (linear probing, no deletion of
// single keys needed except through Erase with backward-shift). Key ~0 is reserved as empty.
class FlatMap {
 public:
  static constexpr uint64_t kEmpty = ~uint64_t{0};
  static constexpr uint32_t kMissing = ~uint32_t{0};

  explicit FlatMap(size_t expected = 16) { Rehash(Capacity(expected)); }

  uint32_t Find(uint64_t key) const {
    for (size_t i = Slot(key);; i = (i + 1) & mask_) {
      if (keys_[i] == key) return vals_[i];
      if (keys_[i] == kEmpty) return kMissing;
    }
  }

  // Returns the value for key, inserting `value` if absent.
  uint32_t FindOrInsert(uint64_t key, uint32_t value) {
    if ((size_ + 1) * 10 > keys_.size() * 7) Rehash(keys_.size() * 2);
    for (size_t i = Slot(key);; i = (i + 1) & mask_) {
      if (keys_[i] == key) return vals_[i];
      if (keys_[i] == kEmpty) {
        keys_[i] = key;
        vals_[i] = value;
        ++size_;
        return value;
      }
    }
  }

  void Set(uint64_t key, uint32_t value) {
    if ((size_ + 1) * 10 > keys_.size() * 7) Rehash(keys_.size() * 2);
    for (size_t i = Slot(key);; i = (i + 1) & mask_) {
      if (keys_[i] == key || keys_[i] == kEmpty) {
        if (keys_[i] == kEmpty) ++size_;
        keys_[i] = key;
        vals_[i] = value;
        return;
      }
    }
  }

  void Erase(uint64_t key) {
    size_t i = Slot(key);
    for (;; i = (i + 1) & mask_) {
      if (keys_[i] == kEmpty) return;
      if (keys_[i] == key) break;
    }
    // Backward-shift deletion keeps probe chains intact without tombstones.
    size_t j = i;
    for (;;) {
      j = (j + 1) & mask_;
      if (keys_[j] == kEmpty) break;
      const size_t home = Slot(keys_[j]);
      const bool between = i <= j ? (i < home && home <= j) : (i < home || home <= j);
      if (between) continue;
      keys_[i] = keys_[j];
      vals_[i] = vals_[j];
      i = j;
    }
    keys_[i] = kEmpty;
    --size_;
  }

  size_t Size() const { return size_; }

  template <typename F>
  void ForEach(F&& f) const {
    for (size_t i = 0; i < keys_.size(); ++i)
      if (keys_[i] != kEmpty) f(keys_[i], vals_[i]);
  }

 private:
  static size_t Capacity(size_t expected) {
    size_t c = 16;
    while (c * 7 < expected * 10) c *= 2;
    return c;
  }
  size_t Slot(uint64_t k) const {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    return static_cast<size_t>(k) & mask_;
  }
  void Rehash(size_t cap) {
    std::vector<uint64_t> oldKeys;
    std::vector<uint32_t> oldVals;
    oldKeys.swap(keys_);
    oldVals.swap(vals_);
    keys_.assign(cap, kEmpty);
    vals_.assign(cap, 0);
    mask_ = cap - 1;
    size_ = 0;
    for (size_t i = 0; i < oldKeys.size(); ++i)
      if (oldKeys[i] != kEmpty) Set(oldKeys[i], oldVals[i]);
  }

  std::vector<uint64_t> keys_;
  std::vector<uint32_t> vals_;
  size_t mask_ = 0;
  size_t size_ = 0;
};

inline uint64_t PairKey(uint32_t a, uint32_t b) {
  return a < b ? (static_cast<uint64_t>(a) << 32) | b : (static_cast<uint64_t>(b) << 32) | a;
}

// Dense indices 0..n-1 for the sorted, distinct, non-zero label ids of a volume. Uses a direct
// table when the largest id is small (fragment ids from our watershed are 1..n), a hash otherwise.
class LabelIndex {
 public:
  static constexpr uint32_t kNone = ~uint32_t{0};

  explicit LabelIndex(std::vector<uint64_t> ids) : ids_(std::move(ids)) {
    const uint64_t maxId = ids_.empty() ? 0 : ids_.back();
    if (maxId <= 4 * ids_.size() + (uint64_t{1} << 20)) {
      direct_.assign(static_cast<size_t>(maxId) + 1, kNone);
      for (size_t i = 0; i < ids_.size(); ++i) direct_[static_cast<size_t>(ids_[i])] = static_cast<uint32_t>(i);
    } else {
      hash_ = FlatMap(ids_.size());
      for (size_t i = 0; i < ids_.size(); ++i) {
        if (ids_[i] == FlatMap::kEmpty) maxIdIndex_ = static_cast<uint32_t>(i);  // the one id a hash key cannot be
        else hash_.Set(ids_[i], static_cast<uint32_t>(i));
      }
    }
  }

  // Index of `id`, or kNone for 0 and ids not in the set.
  uint32_t operator()(uint64_t id) const {
    if (!direct_.empty() || ids_.empty()) return id < direct_.size() ? direct_[static_cast<size_t>(id)] : kNone;
    if (id == FlatMap::kEmpty) return maxIdIndex_;
    const uint32_t i = hash_.Find(id);
    return i == FlatMap::kMissing ? kNone : i;
  }

  const std::vector<uint64_t>& Ids() const { return ids_; }

 private:
  std::vector<uint64_t> ids_;
  std::vector<uint32_t> direct_;
  FlatMap hash_{16};
  uint32_t maxIdIndex_ = kNone;
};

// The sorted distinct non-zero ids of `labels` inside `box`.
template <typename L>
std::vector<uint64_t> DistinctIds(const L* labels, const Shape& s, const Box& b) {
  FlatMap seen(1024);
  bool sawMaxId = false;  // 2^64 - 1 cannot be a hash key
  uint64_t last = 0;
  for (int64_t z = b.z0; z < b.z1; ++z)
    for (int64_t y = b.y0; y < b.y1; ++y) {
      const L* row = labels + (static_cast<size_t>(z) * s.y + y) * s.x;
      for (int64_t x = b.x0; x < b.x1; ++x) {
        const uint64_t id = row[x];
        if (id == 0 || id == last) continue;
        last = id;
        if (id == FlatMap::kEmpty) sawMaxId = true;
        else seen.FindOrInsert(id, 0);
      }
    }
  std::vector<uint64_t> ids;
  ids.reserve(seen.Size());
  seen.ForEach([&](uint64_t k, uint32_t) { ids.push_back(k); });
  if (sawMaxId) ids.push_back(FlatMap::kEmpty);
  std::sort(ids.begin(), ids.end());
  return ids;
}

}  // namespace seg
