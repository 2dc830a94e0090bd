// Region graph: one edge per pair of touching fragments, with the affinities of the links that
// cross between them (a link is voxel p and its predecessor along z, y or x, with affinity
// aff[c, p]; TOKENUNIFY.md section 4). Per edge: the number of links (contact area in voxel
// faces), their mean affinity, and their 256-bin histogram, kept as the sorted list of the links'
// bins (bin b stands for affinity (b + 0.5) / 256, waterz's discretisation). The median of that
// histogram is what agglomeration scores; the sorted list is the histogram at one byte per link,
// which is smaller than 256 counters for the many small edges and exact for the median.
//
// Two passes over the voxels: the first finds edges and counts links, the second writes each
// link's bin at its edge's offset, so the working memory is one byte per crossing link.
#include <algorithm>
#include <limits>
#include <vector>

#include "seg_common.h"
#include "segment.h"

namespace seg {
namespace {

struct Graph {
  std::vector<uint64_t> ids;    // node i is fragment ids[i] (ascending)
  std::vector<double> voxels;   // voxels per node inside the box
  std::vector<uint32_t> u, v;   // edge endpoints as node indices, u < v
  std::vector<uint32_t> contacts;
  std::vector<double> sum;      // sum of link affinities (-> mean)
  std::vector<double> offsets;  // edge e's bins are bins[offsets[e] .. offsets[e + 1])
  std::vector<uint8_t> bins;
};

// Visits every crossing link inside box `b`: f(channel, voxel index p, node of p, node of predecessor).
template <typename L, typename F>
void ForLinks(const L* frag, const Shape& s, const Box& b, const LabelIndex& index, F&& f) {
  const size_t plane = static_cast<size_t>(s.y) * s.x;
  uint64_t lastId[4] = {0, 0, 0, 0};
  uint32_t lastNode[4] = {LabelIndex::kNone, LabelIndex::kNone, LabelIndex::kNone, LabelIndex::kNone};
  auto node = [&](int slot, uint64_t id) {
    if (id != lastId[slot]) {
      lastId[slot] = id;
      lastNode[slot] = index(id);
    }
    return lastNode[slot];
  };
  for (int64_t z = b.z0; z < b.z1; ++z)
    for (int64_t y = b.y0; y < b.y1; ++y) {
      const size_t row = z * plane + y * s.x;
      uint32_t prev = LabelIndex::kNone;
      for (int64_t x = b.x0; x < b.x1; ++x) {
        const size_t p = row + x;
        const uint32_t np = node(0, frag[p]);
        if (np != LabelIndex::kNone) {
          if (z > b.z0) {
            const uint32_t nq = node(1, frag[p - plane]);
            if (nq != LabelIndex::kNone && nq != np) f(0, p, np, nq);
          }
          if (y > b.y0) {
            const uint32_t nq = node(2, frag[p - s.x]);
            if (nq != LabelIndex::kNone && nq != np) f(1, p, np, nq);
          }
          if (x > b.x0 && prev != LabelIndex::kNone && prev != np) f(2, p, np, prev);
        }
        prev = np;
      }
    }
}

template <typename A, typename L>
bool Build(const L* frag, const A* aff, const Shape& s, const Box& b, Graph& g, std::string& err) {
  LabelIndex index(DistinctIds(frag, s, b));
  const size_t n = s.Voxels();
  g.voxels.assign(index.Ids().size(), 0.0);
  {
    const size_t plane = static_cast<size_t>(s.y) * s.x;
    uint64_t last = 0;
    uint32_t lastNode = LabelIndex::kNone;
    for (int64_t z = b.z0; z < b.z1; ++z)
      for (int64_t y = b.y0; y < b.y1; ++y)
        for (int64_t x = b.x0; x < b.x1; ++x) {
          const uint64_t id = frag[z * plane + y * s.x + x];
          if (id == 0) continue;
          if (id != last) {
            last = id;
            lastNode = index(id);
          }
          g.voxels[lastNode] += 1;
        }
  }

  // Pass 1: edges, link counts and affinity sums. A small direct-mapped cache in front of the
  // edge hash catches the few pairs a run of voxels keeps meeting, sparing most cache misses.
  FlatMap edges(index.Ids().size() * 4);
  constexpr size_t kCache = 1024;
  std::vector<uint64_t> cacheKey(kCache, FlatMap::kEmpty);
  std::vector<uint32_t> cacheEdge(kCache, 0);
  auto slot = [](uint64_t key) { return static_cast<size_t>((key * 0x9e3779b97f4a7c15ULL) >> 54); };
  auto edgeOf = [&](uint32_t a, uint32_t bb) {
    const uint64_t key = PairKey(a, bb);
    const size_t k = slot(key);
    if (cacheKey[k] != key) {
      const uint32_t fresh = static_cast<uint32_t>(g.u.size());
      cacheKey[k] = key;
      cacheEdge[k] = edges.FindOrInsert(key, fresh);
      if (cacheEdge[k] == fresh) {
        g.u.push_back(std::min(a, bb));
        g.v.push_back(std::max(a, bb));
        g.contacts.push_back(0);
        g.sum.push_back(0.0);
      }
    }
    return cacheEdge[k];
  };
  bool nan = false;
  size_t nanAt = 0;
  ForLinks(frag, s, b, index, [&](int c, size_t p, uint32_t np, uint32_t nq) {
    const size_t i = c * n + p;
    if (IsNaN(aff, i)) {
      if (!nan) nanAt = i;
      nan = true;
      return;
    }
    const uint32_t e = edgeOf(np, nq);
    g.contacts[e] += 1;
    g.sum[e] += AffValue(aff, i);
  });
  if (nan) {
    const size_t c = nanAt / n, r = nanAt % n;
    err = "regionGraph: affinities contain NaN at (c, z, y, x) = (" + std::to_string(c) + ", " + std::to_string(r / (s.y * s.x)) + ", " +
          std::to_string((r / s.x) % s.y) + ", " + std::to_string(r % s.x) + ")";
    return false;
  }
  if (g.u.size() >= std::numeric_limits<uint32_t>::max()) {
    err = "regionGraph: more than 2^32 edges; build the graph block by block";
    return false;
  }

  // Pass 2: every link's bin, at its edge's place.
  const size_t ne = g.u.size();
  g.offsets.assign(ne + 1, 0.0);
  std::vector<size_t> cursor(ne);
  size_t total = 0;
  for (size_t e = 0; e < ne; ++e) {
    cursor[e] = total;
    g.offsets[e] = static_cast<double>(total);
    total += g.contacts[e];
  }
  g.offsets[ne] = static_cast<double>(total);
  g.bins.resize(total);
  ForLinks(frag, s, b, index, [&](int c, size_t p, uint32_t np, uint32_t nq) {
    g.bins[cursor[edgeOf(np, nq)]++] = AffBin(aff, c * n + p);
  });

  // Sort each edge's bins: a counting sort for long lists, insertion sort for short ones.
  uint32_t counts[256];
  for (size_t e = 0; e < ne; ++e) {
    uint8_t* first = g.bins.data() + static_cast<size_t>(g.offsets[e]);
    const size_t len = g.contacts[e];
    if (len <= 48) {
      for (size_t i = 1; i < len; ++i) {
        const uint8_t t = first[i];
        size_t j = i;
        for (; j > 0 && first[j - 1] > t; --j) first[j] = first[j - 1];
        first[j] = t;
      }
    } else {
      std::fill(counts, counts + 256, 0);
      for (size_t i = 0; i < len; ++i) ++counts[first[i]];
      size_t k = 0;
      for (int bin = 0; bin < 256; ++bin)
        for (uint32_t c = 0; c < counts[bin]; ++c) first[k++] = static_cast<uint8_t>(bin);
    }
  }
  g.ids = index.Ids();
  return true;
}

class RegionGraphWorker : public PromiseWorker {
 public:
  RegionGraphWorker(Napi::Env env, ArrayArg frag, ArrayArg aff, Shape s, Box b)
      : PromiseWorker(env), frag_(frag), aff_(aff), s_(s), b_(b) {}

  void Execute() override {
    std::string err;
    WithAffinities(aff_, [&](auto* a) { WithLabels(frag_, [&](auto* f) { Build(f, a, s_, b_, g_, err); }); });
    if (!err.empty()) SetError(err);
  }

  Napi::Value Result(Napi::Env env) override {
    const size_t ne = g_.u.size();
    std::vector<float> mean(ne), median(ne);
    for (size_t e = 0; e < ne; ++e) {
      mean[e] = static_cast<float>(g_.sum[e] / g_.contacts[e]);
      const size_t len = g_.contacts[e];
      // waterz's HistogramQuantile at 50: the pivot is the (len * 50 / 100 + 1)-th smallest link.
      median[e] = static_cast<float>(BinValue(g_.bins[static_cast<size_t>(g_.offsets[e]) + len / 2]));
    }
    Napi::Object out = Napi::Object::New(env);
    out.Set("ids", IdsOut(env, g_.ids, frag_.type == napi_biguint64_array));
    out.Set("voxels", F64Out(env, g_.voxels));
    out.Set("u", U32Out(env, g_.u));
    out.Set("v", U32Out(env, g_.v));
    out.Set("contacts", U32Out(env, g_.contacts));
    out.Set("meanAffinity", F32Out(env, mean));
    out.Set("medianAffinity", F32Out(env, median));
    out.Set("binOffsets", F64Out(env, g_.offsets));
    out.Set("bins", U8Out(env, g_.bins));
    return out;
  }

 private:
  ArrayArg frag_, aff_;
  Shape s_;
  Box b_;
  Graph g_;
};

// regionGraph(fragments, affinities, [z, y, x], box?) -> Promise<graph>
Napi::Value RegionGraph(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string fn = "regionGraph";
  Shape s;
  Box b;
  ArrayArg frag, aff;
  if (info.Length() < 3 || !GetShape(env, info[2], fn, s) || !GetLabels(env, info[0], s.Voxels(), fn + ": fragments", frag) ||
      !GetAffinities(env, info[1], s, fn, aff) || !GetBox(env, info[3], s, fn, b))
    return env.Null();
  auto* w = new RegionGraphWorker(env, frag, aff, s, b);
  w->Keep(info[0]);
  w->Keep(info[1]);
  return Start(w);
}

}  // namespace

void RegisterRegionGraph(Napi::Env env, Napi::Object exports) {
  exports.Set("regionGraph", Napi::Function::New(env, RegionGraph, "regionGraph"));
}

}  // namespace seg
