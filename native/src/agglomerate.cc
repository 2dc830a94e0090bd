// Agglomeration: hierarchical merging of fragments over the region graph, recorded as a merge
// history (dendrogram) so that the segmentation at any threshold can be read off afterwards
// without running this again.
//
// Score and threshold. The score of an edge between two regions is
//     score = 1 - median affinity of the links on their shared boundary,
// the median taken from a 256-bin histogram as waterz's HistogramQuantileAffinity<.., 50, .., 256>
// does: the pivot is the (n * 50 / 100 + 1)-th smallest of the n links and the bin b stands for
// (b + 0.5) / 256. Scores therefore lie in (0, 1). The lowest-score edge is merged first; merging
// two regions joins their boundaries with every common neighbour (histograms add) and those edges
// are re-scored at once. The segmentation at threshold t is what waterz returns for threshold t:
// merging continues while the lowest score is < t, i.e. it is the longest prefix of this history
// whose scores are all < t (the running maximum of the scores is what to compare; a merged boundary
// can score lower than an earlier merge). t = 0 keeps the fragments; t = 1 merges every touching
// pair. The default t = 0.5 merges while the median affinity is at least 0.5.
//
// Scoring 'median' histograms every link. Scoring 'waterz' reproduces waterz's default
// InitWithMax = true: each initial fragment pair enters the histogram once, at its highest link
// affinity, so an initial edge scores 1 - max and a merged edge scores 1 - the median of those maxima.
#include <algorithm>
#include <vector>

#include "seg_common.h"
#include "segment.h"

namespace seg {
namespace {

// A histogram as runs (count << 8 | bin), ascending by bin. A bin may repeat when a count
// would overflow 24 bits.
using Runs = std::vector<uint32_t>;
constexpr uint32_t kMaxRun = (1u << 24) - 1;

inline void AppendRun(Runs& r, uint32_t bin, uint64_t count) {
  if (!r.empty() && (r.back() & 0xff) == bin) {
    const uint64_t room = kMaxRun - (r.back() >> 8);
    const uint64_t add = std::min<uint64_t>(room, count);
    r.back() += static_cast<uint32_t>(add << 8);
    count -= add;
  }
  while (count > 0) {
    const uint64_t c = std::min<uint64_t>(count, kMaxRun);
    r.push_back(static_cast<uint32_t>(c << 8) | bin);
    count -= c;
  }
}

Runs MergeRuns(const Runs& a, const Runs& b) {
  Runs out;
  out.reserve(std::min<size_t>(a.size() + b.size(), 256));
  size_t i = 0, j = 0;
  while (i < a.size() || j < b.size()) {
    const bool takeA = j == b.size() || (i < a.size() && (a[i] & 0xff) <= (b[j] & 0xff));
    const uint32_t r = takeA ? a[i++] : b[j++];
    AppendRun(out, r & 0xff, r >> 8);
  }
  return out;
}

class Agglomeration {
 public:
  Agglomeration(uint32_t nodes, const uint32_t* u, const uint32_t* v, const double* offsets, const uint8_t* bins, size_t edges, bool initWithMax)
      : u_(u, u + edges), v_(v, v + edges), offsets_(offsets), bins_(bins), initWithMax_(initWithMax), merged_(edges), isMerged_(edges, 0),
        dead_(edges, 0), stamp_(edges, 0), adj_(nodes), degree_(nodes, 0), lookup_(edges) {}

  void Run(std::vector<uint32_t>& ha, std::vector<uint32_t>& hb, std::vector<double>& hs) {
    const size_t ne = u_.size();
    for (uint32_t e = 0; e < ne; ++e) {
      adj_[u_[e]].push_back(e);
      adj_[v_[e]].push_back(e);
      ++degree_[u_[e]];
      ++degree_[v_[e]];
      lookup_.Set(PairKey(u_[e], v_[e]), e);
      Push(e);
    }
    uint64_t top;
    while (queue_.Pop(top)) {
      const uint32_t e = static_cast<uint32_t>(top >> 32);
      if (dead_[e] || stamp_[e] != static_cast<uint32_t>(top)) continue;  // merged away, or re-scored since
      const uint32_t a = u_[e], b = v_[e];
      ha.push_back(a);
      hb.push_back(b);
      hs.push_back(1.0 - BinValue(MedianBin(e)));
      Merge(e, a, b);
    }
  }

 private:
  // The queue holds (edge << 32 | stamp) by level 255 - median bin: the lowest score first, and
  // among equal scores the edge queued first.
  void Push(uint32_t e) { queue_.Push(255 - MedianBin(e), static_cast<uint64_t>(e) << 32 | stamp_[e]); }

  uint8_t MedianBin(uint32_t e) const {
    if (!isMerged_[e]) {
      const size_t first = static_cast<size_t>(offsets_[e]), len = static_cast<size_t>(offsets_[e + 1]) - first;
      return bins_[first + (initWithMax_ ? len - 1 : len / 2)];
    }
    const Runs& r = merged_[e];
    uint64_t total = 0;
    for (uint32_t x : r) total += x >> 8;
    const uint64_t pivot = total * 50 / 100 + 1;
    uint64_t sum = 0;
    for (uint32_t x : r) {
      sum += x >> 8;
      if (sum >= pivot) return static_cast<uint8_t>(x & 0xff);
    }
    return static_cast<uint8_t>(r.back() & 0xff);
  }

  // Edge e's histogram as runs; initial edges are converted into `r`.
  const Runs& RunsOf(uint32_t e, Runs& r) const {
    if (isMerged_[e]) return merged_[e];
    r.clear();
    const size_t first = static_cast<size_t>(offsets_[e]), last = static_cast<size_t>(offsets_[e + 1]);
    if (initWithMax_) {
      AppendRun(r, bins_[last - 1], 1);
      return r;
    }
    for (size_t i = first; i < last;) {
      size_t j = i;
      while (j < last && bins_[j] == bins_[i]) ++j;
      AppendRun(r, bins_[i], j - i);
      i = j;
    }
    return r;
  }

  // Merges the two regions joined by edge e; the one with more edges survives.
  void Merge(uint32_t e, uint32_t a, uint32_t b) {
    dead_[e] = 1;
    --degree_[a];
    --degree_[b];
    lookup_.Erase(PairKey(a, b));
    const uint32_t keep = degree_[a] >= degree_[b] ? a : b;
    const uint32_t gone = keep == a ? b : a;
    for (uint32_t f : adj_[gone]) {
      if (dead_[f]) continue;
      const uint32_t n = u_[f] == gone ? v_[f] : u_[f];
      lookup_.Erase(PairKey(gone, n));
      const uint32_t g = lookup_.Find(PairKey(keep, n));
      if (g != FlatMap::kMissing) {
        // Both regions touch n: one boundary now, with both histograms.
        merged_[g] = MergeRuns(RunsOf(g, scratch_[0]), RunsOf(f, scratch_[1]));
        isMerged_[g] = 1;
        Runs().swap(merged_[f]);
        dead_[f] = 1;
        --degree_[n];
        Compact(n);
        ++stamp_[g];
        Push(g);
      } else {
        u_[f] = std::min(keep, n);
        v_[f] = std::max(keep, n);
        lookup_.Set(PairKey(keep, n), f);
        adj_[keep].push_back(f);
        ++degree_[keep];
      }
    }
    std::vector<uint32_t>().swap(adj_[gone]);
    degree_[gone] = 0;
    Compact(keep);
  }

  // Drops dead edges from a node's list once they are the majority (keeps merging linear).
  void Compact(uint32_t node) {
    std::vector<uint32_t>& k = adj_[node];
    if (k.size() <= 2 * static_cast<size_t>(degree_[node]) + 8) return;
    k.erase(std::remove_if(k.begin(), k.end(), [&](uint32_t f) { return dead_[f] != 0; }), k.end());
  }

  std::vector<uint32_t> u_, v_;
  const double* offsets_;
  const uint8_t* bins_;
  bool initWithMax_;
  std::vector<Runs> merged_;
  std::vector<uint8_t> isMerged_, dead_;
  std::vector<uint32_t> stamp_;
  std::vector<std::vector<uint32_t>> adj_;
  std::vector<uint32_t> degree_;  // live edges per node
  FlatMap lookup_;
  BucketQueue<uint64_t> queue_{256};
  Runs scratch_[2];
};

class AgglomerateWorker : public PromiseWorker {
 public:
  AgglomerateWorker(Napi::Env env, uint32_t nodes, ArrayArg u, ArrayArg v, ArrayArg offsets, ArrayArg bins, bool initWithMax)
      : PromiseWorker(env), nodes_(nodes), u_(u), v_(v), offsets_(offsets), bins_(bins), initWithMax_(initWithMax) {}

  void Execute() override {
    const auto* u = static_cast<const uint32_t*>(u_.data);
    const auto* v = static_cast<const uint32_t*>(v_.data);
    const auto* off = static_cast<const double*>(offsets_.data);
    const size_t ne = u_.length;
    if (off[0] != 0 || off[ne] != static_cast<double>(bins_.length)) return SetError("agglomerate: binOffsets must run from 0 to bins.length");
    for (size_t e = 0; e < ne; ++e) {
      if (u[e] >= nodes_ || v[e] >= nodes_ || u[e] == v[e]) return SetError("agglomerate: edge " + std::to_string(e) + " joins invalid nodes");
      if (!(off[e + 1] > off[e])) return SetError("agglomerate: edge " + std::to_string(e) + " has no affinity samples");
    }
    Agglomeration(nodes_, u, v, off, static_cast<const uint8_t*>(bins_.data), ne, initWithMax_).Run(a_, b_, score_);
  }

  Napi::Value Result(Napi::Env env) override {
    Napi::Object out = Napi::Object::New(env);
    out.Set("a", U32Out(env, a_));
    out.Set("b", U32Out(env, b_));
    out.Set("score", F64Out(env, score_));
    return out;
  }

 private:
  uint32_t nodes_;
  ArrayArg u_, v_, offsets_, bins_;
  bool initWithMax_;
  std::vector<uint32_t> a_, b_;
  std::vector<double> score_;
};

// agglomerate(nodes, u, v, binOffsets, bins, scoring: 'median' | 'waterz') -> Promise<{a, b, score}>
Napi::Value Agglomerate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 6 || !info[0].IsNumber()) {
    ThrowType(env, "agglomerate(nodes, u, v, binOffsets, bins, scoring)");
    return env.Null();
  }
  const double nodes = info[0].As<Napi::Number>().DoubleValue();
  if (!(nodes >= 0 && nodes < 4294967295.0) || nodes != std::floor(nodes)) {
    ThrowRange(env, "agglomerate: nodes must be an integer below 2^32");
    return env.Null();
  }
  const napi_typedarray_type want[4] = {napi_uint32_array, napi_uint32_array, napi_float64_array, napi_uint8_array};
  const char* names[4] = {"u", "v", "binOffsets", "bins"};
  ArrayArg arr[4];
  for (int i = 0; i < 4; ++i) {
    if (!RequireTypedArray(env, info[i + 1], (std::string("agglomerate: ") + names[i]).c_str())) return env.Null();
    arr[i] = ViewOf(info[i + 1].As<Napi::TypedArray>());
    if (arr[i].type != want[i]) {
      ThrowType(env, std::string("agglomerate: ") + names[i] + " has the wrong element type (" + TypedArrayTypeName(arr[i].type) + ")");
      return env.Null();
    }
  }
  if (arr[1].length != arr[0].length || arr[2].length != arr[0].length + 1) {
    ThrowRange(env, "agglomerate: u, v and binOffsets (one longer) must describe the same edges");
    return env.Null();
  }
  const std::string scoring = info[5].IsString() ? info[5].As<Napi::String>().Utf8Value() : "";
  if (scoring != "median" && scoring != "waterz") {
    ThrowRange(env, "agglomerate: scoring must be 'median' or 'waterz'");
    return env.Null();
  }
  auto* w = new AgglomerateWorker(env, static_cast<uint32_t>(nodes), arr[0], arr[1], arr[2], arr[3], scoring == "waterz");
  for (int i = 1; i <= 4; ++i) w->Keep(info[i]);
  return Start(w);
}

}  // namespace

void RegisterAgglomerate(Napi::Env env, Napi::Object exports) {
  exports.Set("agglomerate", Napi::Function::New(env, Agglomerate, "agglomerate"));
}

}  // namespace seg
