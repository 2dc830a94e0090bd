// Label volume operations: connected components (6-connectivity), the distinct ids of a volume,
// and mapping ids through a table (relabelling to consecutive ids, fragment -> segment maps).
#include <algorithm>
#include <limits>
#include <vector>

#include "seg_common.h"
#include "segment.h"

namespace seg {
namespace {

// Each 6-connected region of one non-zero id gets its own id 1, 2, ... in raster order of its
// first voxel; 0 stays 0.
template <typename L, typename O>
uint64_t Components(const L* in, const Shape& s, O* out) {
  const size_t n = s.Voxels();
  std::fill(out, out + n, O{0});
  std::vector<size_t> stack;
  uint64_t next = 0;
  for (size_t i = 0; i < n; ++i) {
    if (in[i] == 0 || out[i] != 0) continue;
    const L id = in[i];
    out[i] = static_cast<O>(++next);
    stack.push_back(i);
    while (!stack.empty()) {
      const size_t p = stack.back();
      stack.pop_back();
      ForNeighbours(p, s.z, s.y, s.x, [&](size_t q) {
        if (out[q] == 0 && in[q] == id) {
          out[q] = static_cast<O>(next);
          stack.push_back(q);
        }
      });
    }
  }
  return next;
}

class ComponentsWorker : public PromiseWorker {
 public:
  ComponentsWorker(Napi::Env env, ArrayArg in, Shape s, ArrayArg out) : PromiseWorker(env), in_(in), s_(s), out_(out) {}
  void Execute() override {
    WithLabels(in_, [&](auto* in) {
      WithLabels(out_, [&](auto* out) {
        using O = std::remove_pointer_t<decltype(out)>;
        count_ = Components(in, s_, out);
        if (count_ > std::numeric_limits<O>::max()) SetError("connectedComponents: more components than uint32 ids; use uint64 output");
      });
    });
  }
  Napi::Value Result(Napi::Env env) override { return Napi::Number::New(env, static_cast<double>(count_)); }

 private:
  ArrayArg in_;
  Shape s_;
  ArrayArg out_;
  uint64_t count_ = 0;
};

bool Overlap(const ArrayArg& a, size_t aBytes, const ArrayArg& b, size_t bBytes) {
  const auto* pa = static_cast<const uint8_t*>(a.data);
  const auto* pb = static_cast<const uint8_t*>(b.data);
  return pa < pb + bBytes && pb < pa + aBytes;
}

size_t LabelBytes(const ArrayArg& a) { return a.length * (a.type == napi_uint32_array ? 4 : 8); }

// connectedComponents(labels, [z, y, x], out) -> Promise<count>
Napi::Value ConnectedComponents(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string fn = "connectedComponents";
  Shape s;
  ArrayArg in, out;
  if (info.Length() < 3 || !GetShape(env, info[1], fn, s) || !GetLabels(env, info[0], s.Voxels(), fn + ": labels", in) ||
      !GetLabels(env, info[2], s.Voxels(), fn + ": output", out))
    return env.Null();
  if (Overlap(in, LabelBytes(in), out, LabelBytes(out))) {
    ThrowRange(env, fn + ": output must not share memory with the input");
    return env.Null();
  }
  auto* w = new ComponentsWorker(env, in, s, out);
  w->Keep(info[0]);
  w->Keep(info[2]);
  return Start(w);
}

class UniqueWorker : public PromiseWorker {
 public:
  UniqueWorker(Napi::Env env, ArrayArg in) : PromiseWorker(env), in_(in) {}
  void Execute() override {
    WithLabels(in_, [&](auto* in) { ids_ = DistinctIds(in, Shape{1, 1, static_cast<int64_t>(in_.length)}, Box{0, 0, 0, 1, 1, static_cast<int64_t>(in_.length)}); });
  }
  Napi::Value Result(Napi::Env env) override { return IdsOut(env, ids_, in_.type == napi_biguint64_array); }

 private:
  ArrayArg in_;
  std::vector<uint64_t> ids_;
};

// uniqueLabels(labels) -> Promise<sorted distinct non-zero ids, same type>
Napi::Value UniqueLabels(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ArrayArg in;
  if (info.Length() < 1 || !GetLabels(env, info[0], 0, "uniqueLabels: labels", in)) return env.Null();
  auto* w = new UniqueWorker(env, in);
  w->Keep(info[0]);
  return Start(w);
}

class MapWorker : public PromiseWorker {
 public:
  MapWorker(Napi::Env env, ArrayArg in, ArrayArg keys, ArrayArg values, ArrayArg out)
      : PromiseWorker(env), in_(in), keys_(keys), values_(values), out_(out) {}
  void Execute() override {
    std::vector<uint64_t> keys(keys_.length), values(values_.length);
    WithLabels(keys_, [&](auto* k) { std::copy(k, k + keys_.length, keys.begin()); });
    WithLabels(values_, [&](auto* v) { std::copy(v, v + values_.length, values.begin()); });
    for (size_t i = 0; i < keys.size(); ++i)
      if (keys[i] == 0 || (i > 0 && keys[i] <= keys[i - 1])) return SetError("mapLabels: keys must be non-zero, ascending and distinct");
    const LabelIndex index(std::move(keys));
    std::string err;
    WithLabels(in_, [&](auto* in) {
      WithLabels(out_, [&](auto* out) {
        using O = std::remove_pointer_t<decltype(out)>;
        uint64_t last = 0;
        O lastValue = 0;
        for (size_t i = 0; i < in_.length; ++i) {
          const uint64_t id = in[i];
          if (id != last) {
            if (id == 0) lastValue = 0;
            else {
              const uint32_t k = index(id);
              if (k == LabelIndex::kNone) {
                err = "mapLabels: label " + std::to_string(id) + " is not in the map";
                return;
              }
              lastValue = static_cast<O>(values[k]);
            }
            last = id;
          }
          out[i] = lastValue;
        }
      });
    });
    if (!err.empty()) SetError(err);
  }
  Napi::Value Result(Napi::Env env) override { return env.Undefined(); }

 private:
  ArrayArg in_, keys_, values_, out_;
};

// mapLabels(labels, keys, values, out) -> Promise<void>: out[i] = values[k] where keys[k] == labels[i];
// 0 maps to 0. `out` may be `labels` itself (same type) for an in-place map.
Napi::Value MapLabels(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string fn = "mapLabels";
  ArrayArg in, keys, values, out;
  if (info.Length() < 4 || !GetLabels(env, info[0], 0, fn + ": labels", in) || !GetLabels(env, info[1], 0, fn + ": keys", keys) ||
      !GetLabels(env, info[2], keys.length, fn + ": values", values) || !GetLabels(env, info[3], in.length, fn + ": output", out))
    return env.Null();
  if (values.type != out.type) {
    ThrowType(env, fn + ": values and output must have the same type");
    return env.Null();
  }
  if (Overlap(in, LabelBytes(in), out, LabelBytes(out)) && in.data != out.data) {
    ThrowRange(env, fn + ": output must be the input itself or separate memory");
    return env.Null();
  }
  if (in.data == out.data && in.type != out.type) {
    ThrowType(env, fn + ": an in-place map keeps the label type");
    return env.Null();
  }
  auto* w = new MapWorker(env, in, keys, values, out);
  for (int i = 0; i < 4; ++i) w->Keep(info[i]);
  return Start(w);
}

}  // namespace

void RegisterLabels(Napi::Env env, Napi::Object exports) {
  exports.Set("connectedComponents", Napi::Function::New(env, ConnectedComponents, "connectedComponents"));
  exports.Set("uniqueLabels", Napi::Function::New(env, UniqueLabels, "uniqueLabels"));
  exports.Set("mapLabels", Napi::Function::New(env, MapLabels, "mapLabels"));
}

}  // namespace seg
