// Voxel-level seeded split of one fragment: when the seeds of two groups fall inside the same
// fragment, the region graph cannot separate them, so the fragment itself is cut. Every voxel of
// the fragment joins the seed group it reaches through the strongest chain of links (a seeded
// watershed on the link affinities: the link with the highest affinity leaving the grown groups is
// taken first), so the cut runs along the weakest affinities between the seeds. Voxels that no
// seed reaches (a fragment in several pieces) go to group 0. The fragment's voxels are rewritten
// in place with one id per group.
#include <algorithm>
#include <limits>
#include <vector>

#include "seg_common.h"
#include "segment.h"

namespace seg {
namespace {

template <typename A, typename L>
bool Cut(L* frag, const A* aff, const Shape& s, uint64_t id, const std::vector<size_t>& seeds, const std::vector<uint32_t>& groups,
         const std::vector<uint64_t>& newIds, Box& box, std::vector<double>& counts, std::string& err) {
  const size_t n = s.Voxels(), plane = static_cast<size_t>(s.y) * s.x;
  box = Box{s.z, s.y, s.x, -1, -1, -1};
  for (size_t i = 0; i < n; ++i) {
    if (frag[i] != id) continue;
    const int64_t z = i / plane, y = (i / s.x) % s.y, x = i % s.x;
    box.z0 = std::min(box.z0, z), box.y0 = std::min(box.y0, y), box.x0 = std::min(box.x0, x);
    box.z1 = std::max(box.z1, z + 1), box.y1 = std::max(box.y1, y + 1), box.x1 = std::max(box.x1, x + 1);
  }
  if (box.z1 < 0) {
    err = "splitFragment: fragment " + std::to_string(id) + " has no voxels";
    return false;
  }
  const int64_t bz = box.z1 - box.z0, by = box.y1 - box.y0, bx = box.x1 - box.x0;
  if (box.Voxels() >= (size_t{1} << 32) / 256) {
    err = "splitFragment: fragment " + std::to_string(id) + " spans too large a box to cut voxel by voxel";
    return false;
  }
  auto global = [&](size_t local) {
    const size_t z = local / (by * bx) + box.z0, y = (local / bx) % by + box.y0, x = local % bx + box.x0;
    return z * plane + y * s.x + x;
  };
  auto localOf = [&](size_t g) {
    const int64_t z = g / plane - box.z0, y = (g / s.x) % s.y - box.y0, x = g % s.x - box.x0;
    return (static_cast<size_t>(z) * by + y) * bx + x;
  };
  // -2: not in the fragment, -1: not reached yet, >= 0: group.
  std::vector<int16_t> group(box.Voxels(), -2);
  for (size_t l = 0; l < group.size(); ++l)
    if (frag[global(l)] == id) group[l] = -1;

  BucketQueue<uint32_t> queue(256);  // level 255 - bin: the strongest link first; entry = local << 8 | group
  auto grow = [&](size_t l, int g) -> bool {
    const size_t p = global(l);
    bool ok = true;
    ForNeighbours(l, bz, by, bx, [&](size_t m) {
      if (group[m] != -1) return;
      const size_t q = global(m);
      // The link between p and q is stored at the later voxel of the two.
      const size_t later = std::max(p, q), d = later - std::min(p, q);
      const size_t c = d == plane ? 0 : d == static_cast<size_t>(s.x) ? 1 : 2;
      const size_t i = c * n + later;
      if (IsNaN(aff, i)) ok = false;
      else queue.Push(255 - AffBin(aff, i), static_cast<uint32_t>(m << 8 | g));
    });
    return ok;
  };
  for (size_t k = 0; k < seeds.size(); ++k) {
    const size_t l = localOf(seeds[k]);
    group[l] = static_cast<int16_t>(groups[k]);
  }
  for (size_t k = 0; k < seeds.size(); ++k)
    if (!grow(localOf(seeds[k]), groups[k])) err = "splitFragment: affinities contain NaN";
  uint32_t e;
  while (err.empty() && queue.Pop(e)) {
    const size_t l = e >> 8;
    if (group[l] != -1) continue;
    group[l] = static_cast<int16_t>(e & 0xff);
    if (!grow(l, e & 0xff)) err = "splitFragment: affinities contain NaN";
  }
  if (!err.empty()) return false;
  counts.assign(newIds.size(), 0.0);
  for (size_t l = 0; l < group.size(); ++l) {
    if (group[l] == -2) continue;
    const int g = group[l] < 0 ? 0 : group[l];
    frag[global(l)] = static_cast<L>(newIds[g]);
    counts[g] += 1;
  }
  return true;
}

class SplitWorker : public PromiseWorker {
 public:
  SplitWorker(Napi::Env env, ArrayArg frag, ArrayArg aff, Shape s, uint64_t id, std::vector<size_t> seeds, std::vector<uint32_t> groups,
              std::vector<uint64_t> newIds)
      : PromiseWorker(env), frag_(frag), aff_(aff), s_(s), id_(id), seeds_(std::move(seeds)), groups_(std::move(groups)), newIds_(std::move(newIds)) {}

  void Execute() override {
    std::string err;
    WithAffinities(aff_, [&](auto* a) {
      WithLabels(frag_, [&](auto* f) {
        for (size_t k = 0; k < seeds_.size() && err.empty(); ++k)
          if (f[seeds_[k]] != id_) err = "splitFragment: seed " + std::to_string(k) + " is not inside fragment " + std::to_string(id_);
        if (err.empty()) Cut(f, a, s_, id_, seeds_, groups_, newIds_, box_, counts_, err);
      });
    });
    if (!err.empty()) SetError(err);
  }

  Napi::Value Result(Napi::Env env) override {
    Napi::Object out = Napi::Object::New(env);
    Napi::Array box = Napi::Array::New(env, 6);
    const int64_t b[6] = {box_.z0, box_.y0, box_.x0, box_.z1, box_.y1, box_.x1};
    for (uint32_t i = 0; i < 6; ++i) box.Set(i, Napi::Number::New(env, static_cast<double>(b[i])));
    out.Set("box", box);
    out.Set("voxels", F64Out(env, counts_));
    return out;
  }

 private:
  ArrayArg frag_, aff_;
  Shape s_;
  uint64_t id_;
  std::vector<size_t> seeds_;
  std::vector<uint32_t> groups_;
  std::vector<uint64_t> newIds_;
  Box box_;
  std::vector<double> counts_;
};

bool GetId(Napi::Env env, const Napi::Value& v, const std::string& what, uint64_t& out) {
  if (v.IsBigInt()) {
    bool lossless = false;
    out = v.As<Napi::BigInt>().Uint64Value(&lossless);
    if (lossless) return true;
  } else if (v.IsNumber()) {
    const double d = v.As<Napi::Number>().DoubleValue();
    if (d >= 0 && d == std::floor(d) && d < 18446744073709551616.0) {
      out = static_cast<uint64_t>(d);
      return true;
    }
  }
  ThrowRange(env, what + " must be a non-negative integer id");
  return false;
}

// splitFragment(fragments, affinities, [z, y, x], id, seeds: Float64Array of voxel indices,
//               groups: Uint32Array (group of each seed), newIds: one id per group, same type as fragments)
//   -> Promise<{ box: [z0, y0, x0, z1, y1, x1], voxels: Float64Array per group }>
Napi::Value SplitFragment(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string fn = "splitFragment";
  Shape s;
  ArrayArg frag, aff, newIds;
  uint64_t id = 0;
  if (info.Length() < 7 || !GetShape(env, info[2], fn, s) || !GetLabels(env, info[0], s.Voxels(), fn + ": fragments", frag) ||
      !GetAffinities(env, info[1], s, fn, aff) || !GetId(env, info[3], fn + ": id", id) ||
      !RequireTypedArray(env, info[4], (fn + ": seeds").c_str()) || !RequireTypedArray(env, info[5], (fn + ": groups").c_str()) ||
      !GetLabels(env, info[6], 0, fn + ": newIds", newIds))
    return env.Null();
  if (id == 0) {
    ThrowRange(env, fn + ": id 0 is background, not a fragment");
    return env.Null();
  }
  const ArrayArg seedArr = ViewOf(info[4].As<Napi::TypedArray>()), groupArr = ViewOf(info[5].As<Napi::TypedArray>());
  if (seedArr.type != napi_float64_array || groupArr.type != napi_uint32_array || seedArr.length != groupArr.length) {
    ThrowType(env, fn + ": seeds (Float64Array) and groups (Uint32Array) must have one entry per seed");
    return env.Null();
  }
  if (newIds.type != frag.type || newIds.length < 2 || newIds.length > 255) {
    ThrowRange(env, fn + ": newIds must hold 2 to 255 ids of the fragments' type");
    return env.Null();
  }
  std::vector<size_t> seeds(seedArr.length);
  std::vector<uint32_t> groups(groupArr.length);
  std::vector<bool> used(newIds.length, false);
  for (size_t k = 0; k < seeds.size(); ++k) {
    const double d = static_cast<const double*>(seedArr.data)[k];
    groups[k] = static_cast<const uint32_t*>(groupArr.data)[k];
    if (!(d >= 0 && d < static_cast<double>(s.Voxels())) || d != std::floor(d)) {
      ThrowRange(env, fn + ": seed " + std::to_string(k) + " is outside the volume");
      return env.Null();
    }
    if (groups[k] >= newIds.length) {
      ThrowRange(env, fn + ": seed " + std::to_string(k) + " names group " + std::to_string(groups[k]) + " but there are " +
                          std::to_string(newIds.length) + " new ids");
      return env.Null();
    }
    seeds[k] = static_cast<size_t>(d);
    used[groups[k]] = true;
  }
  if (std::count(used.begin(), used.end(), true) < 2) {
    ThrowRange(env, fn + ": seeds must come in at least two groups");
    return env.Null();
  }
  std::vector<uint64_t> ids(newIds.length);
  WithLabels(newIds, [&](auto* p) { std::copy(p, p + newIds.length, ids.begin()); });
  // Two groups seeded at the same voxel cannot both win it.
  std::vector<std::pair<size_t, uint32_t>> sorted;
  for (size_t k = 0; k < seeds.size(); ++k) sorted.emplace_back(seeds[k], groups[k]);
  std::sort(sorted.begin(), sorted.end());
  for (size_t k = 1; k < sorted.size(); ++k)
    if (sorted[k].first == sorted[k - 1].first && sorted[k].second != sorted[k - 1].second) {
      ThrowRange(env, fn + ": two seed groups share voxel " + std::to_string(sorted[k].first));
      return env.Null();
    }
  auto* w = new SplitWorker(env, frag, aff, s, id, std::move(seeds), std::move(groups), std::move(ids));
  w->Keep(info[0]);
  w->Keep(info[1]);
  return Start(w);
}

}  // namespace

void RegisterSplit(Napi::Env env, Napi::Object exports) {
  exports.Set("splitFragment", Napi::Function::New(env, SplitFragment, "splitFragment"));
}

}  // namespace seg
