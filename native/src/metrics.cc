// Segmentation metrics from one contingency table, as the paper computes them with skimage.metrics
// (TOKENUNIFY.md section 7): voxels whose ground-truth label is 0 are left out (ignore_labels=0 on
// the ground truth only; label 0 in the segmentation counts as a segment).
//
//   n_ij = voxels with ground truth i and segment j;  a_i = sum_j n_ij;  b_j = sum_i n_ij;  N = sum n_ij
//   VOI split = H(seg | gt) = sum_ij (n_ij / N) log2(a_i / n_ij)       (bits)
//   VOI merge = H(gt | seg) = sum_ij (n_ij / N) log2(b_j / n_ij)
//   adapted Rand error = 1 - 2 p r / (p + r), p = (sum n_ij^2 - N) / (sum a_i^2 - N),
//                                             r = (sum n_ij^2 - N) / (sum b_j^2 - N)
// The per-segment terms of the two sums (split per ground-truth id, merge per segment id) rank the
// likely errors: a ground-truth object broken into many pieces, a segment spanning many objects.
#include <algorithm>
#include <cmath>
#include <vector>

#include "seg_common.h"
#include "segment.h"

namespace seg {
namespace {

struct Cell {
  uint64_t gt, seg, n;
};

// Contingency table as a hash of (gt, seg) pairs; runs of equal pairs are counted before hashing.
class Table {
 public:
  void Add(uint64_t g, uint64_t s, uint64_t n) {
    if ((used_ + 1) * 10 > slots_.size() * 7) Grow();
    size_t i = Slot(g, s);
    for (;; i = (i + 1) & (slots_.size() - 1)) {
      Cell& c = slots_[i];
      if (c.n == 0) {
        c = Cell{g, s, n};
        ++used_;
        return;
      }
      if (c.gt == g && c.seg == s) {
        c.n += n;
        return;
      }
    }
  }
  std::vector<Cell> Cells() const {
    std::vector<Cell> out;
    out.reserve(used_);
    for (const Cell& c : slots_)
      if (c.n) out.push_back(c);
    return out;
  }

 private:
  size_t Slot(uint64_t g, uint64_t s) const {
    uint64_t k = g * 0x9e3779b97f4a7c15ULL ^ (s + 0x632be59bd9b4e019ULL + (g << 6));
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    return static_cast<size_t>(k) & (slots_.size() - 1);
  }
  void Grow() {
    std::vector<Cell> old;
    old.swap(slots_);
    slots_.assign(old.empty() ? 1024 : old.size() * 2, Cell{0, 0, 0});
    used_ = 0;
    for (const Cell& c : old)
      if (c.n) Add(c.gt, c.seg, c.n);
  }
  std::vector<Cell> slots_;
  size_t used_ = 0;
};

struct Scores {
  double split = 0, merge = 0, arand = 0, counted = 0;
  std::vector<uint64_t> gtIds, segIds;
  std::vector<double> gtSplit, segMerge;
};

template <typename G, typename S>
void Evaluate(const G* gt, const S* seg, size_t n, Scores& r) {
  Table table;
  uint64_t lastG = 0, lastS = 0, run = 0;
  for (size_t i = 0; i < n; ++i) {
    const uint64_t g = gt[i];
    if (g == 0) continue;
    const uint64_t s = seg[i];
    if (run && g == lastG && s == lastS) {
      ++run;
      continue;
    }
    if (run) table.Add(lastG, lastS, run);
    lastG = g, lastS = s, run = 1;
  }
  if (run) table.Add(lastG, lastS, run);
  std::vector<Cell> cells = table.Cells();

  long double total = 0, sumN2 = 0, sumA2 = 0, sumB2 = 0;
  for (const Cell& c : cells) {
    total += c.n;
    sumN2 += static_cast<long double>(c.n) * c.n;
  }
  r.counted = static_cast<double>(total);
  if (cells.empty()) return;
  const double N = static_cast<double>(total);

  // Marginals and conditional-entropy terms, ground truth first.
  auto side = [&](bool byGt, std::vector<uint64_t>& ids, std::vector<double>& terms, long double& sum2) {
    std::sort(cells.begin(), cells.end(), [&](const Cell& a, const Cell& b) {
      return byGt ? (a.gt != b.gt ? a.gt < b.gt : a.seg < b.seg) : (a.seg != b.seg ? a.seg < b.seg : a.gt < b.gt);
    });
    for (size_t i = 0; i < cells.size();) {
      const uint64_t key = byGt ? cells[i].gt : cells[i].seg;
      size_t j = i;
      uint64_t marginal = 0;
      while (j < cells.size() && (byGt ? cells[j].gt : cells[j].seg) == key) marginal += cells[j++].n;
      double h = 0;
      for (size_t k = i; k < j; ++k) h += (cells[k].n / N) * std::log2(static_cast<double>(marginal) / cells[k].n);
      ids.push_back(key);
      terms.push_back(h);
      sum2 += static_cast<long double>(marginal) * marginal;
      i = j;
    }
  };
  side(true, r.gtIds, r.gtSplit, sumA2);
  side(false, r.segIds, r.segMerge, sumB2);
  for (double h : r.gtSplit) r.split += h;
  for (double h : r.segMerge) r.merge += h;

  const double pairs = static_cast<double>(sumN2 - total);
  const double precision = pairs / static_cast<double>(sumA2 - total);
  const double recall = pairs / static_cast<double>(sumB2 - total);
  r.arand = 1.0 - 2.0 * precision * recall / (precision + recall);
}

class MetricsWorker : public PromiseWorker {
 public:
  MetricsWorker(Napi::Env env, ArrayArg gt, ArrayArg seg) : PromiseWorker(env), gt_(gt), seg_(seg) {}
  void Execute() override {
    WithLabels(gt_, [&](auto* g) { WithLabels(seg_, [&](auto* s) { Evaluate(g, s, gt_.length, r_); }); });
    if (r_.counted == 0) SetError("evaluate: the ground truth has no labelled (non-zero) voxels");
  }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object out = Napi::Object::New(env);
    out.Set("voiSplit", r_.split);
    out.Set("voiMerge", r_.merge);
    out.Set("arand", r_.arand);
    out.Set("voxels", r_.counted);
    out.Set("gtIds", IdsOut(env, r_.gtIds, gt_.type == napi_biguint64_array));
    out.Set("gtSplit", F64Out(env, r_.gtSplit));
    out.Set("segIds", IdsOut(env, r_.segIds, seg_.type == napi_biguint64_array));
    out.Set("segMerge", F64Out(env, r_.segMerge));
    return out;
  }

 private:
  ArrayArg gt_, seg_;
  Scores r_;
};

// evaluate(gt, seg) -> Promise<{ voiSplit, voiMerge, arand, voxels, gtIds, gtSplit, segIds, segMerge }>
Napi::Value EvaluateFn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ArrayArg gt, seg;
  if (info.Length() < 2 || !GetLabels(env, info[0], 0, "evaluate: ground truth", gt) || !GetLabels(env, info[1], gt.length, "evaluate: segmentation", seg))
    return env.Null();
  if (gt.length == 0) {
    ThrowRange(env, "evaluate: the volumes are empty");
    return env.Null();
  }
  auto* w = new MetricsWorker(env, gt, seg);
  w->Keep(info[0]);
  w->Keep(info[1]);
  return Start(w);
}

}  // namespace

void RegisterMetrics(Napi::Env env, Napi::Object exports) {
  exports.Set("evaluate", Napi::Function::New(env, EvaluateFn, "evaluate"));
}

}  // namespace seg
