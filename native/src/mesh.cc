// Surface mesh of one segment inside a box: surface nets on the binary mask (label in ids: a
// segment is one label, or the set of fragments it is made of), then
// optional Taubin smoothing, optional simplification by vertex clustering, and area-weighted
// vertex normals. Positions are in nm, ordered (x, y, z) for three.js, at voxel centres times the
// voxel size (anisotropic sizes honoured). The box is treated as padded with background, so a
// segment cut by the box gets a closed cap. Triangles wind counter-clockwise seen from outside.
// Only the label's bounding box inside the box is visited; an absent label gives an empty mesh.
#include <algorithm>
#include <cmath>
#include <vector>

#include "seg_common.h"
#include "segment.h"

namespace seg {
namespace {

struct MeshOptions {
  double voxelSize[3] = {1, 1, 1};  // nm, (z, y, x)
  int smooth = 0;                   // Taubin iterations
  double cluster = 0;               // vertex-clustering cell in nm; 0 = no simplification
};

// Membership of a label in the segment's sorted ids (one id: a comparison), remembering the last
// answer because labels come in runs.
class Members {
 public:
  explicit Members(std::vector<uint64_t> ids) : ids_(std::move(ids)) {}
  bool operator()(uint64_t label) {
    if (label != last_) {
      last_ = label;
      in_ = ids_.size() == 1 ? label == ids_[0] : std::binary_search(ids_.begin(), ids_.end(), label);
    }
    return in_;
  }

 private:
  std::vector<uint64_t> ids_;
  uint64_t last_ = 0;
  bool in_ = false;  // 0 is never a member
};

struct Mesh {
  std::vector<double> pos;  // x, y, z per vertex
  std::vector<uint32_t> tri;
};

// Shrinks `b` to the bounding box of the segment inside it; false when it is absent.
template <typename L>
bool Crop(const L* labels, const Shape& s, Members& in, Box& b) {
  Box found{b.z1, b.y1, b.x1, b.z0, b.y0, b.x0};
  for (int64_t z = b.z0; z < b.z1; ++z)
    for (int64_t y = b.y0; y < b.y1; ++y) {
      const L* row = labels + (z * s.y + y) * s.x;
      for (int64_t x = b.x0; x < b.x1; ++x)
        if (in(row[x])) {
          found.z0 = std::min(found.z0, z), found.y0 = std::min(found.y0, y), found.x0 = std::min(found.x0, x);
          found.z1 = std::max(found.z1, z + 1), found.y1 = std::max(found.y1, y + 1), found.x1 = std::max(found.x1, x + 1);
        }
    }
  if (found.z0 >= found.z1) return false;
  b = found;
  return true;
}

template <typename L>
void SurfaceNets(const L* labels, const Shape& s, Members& in, const Box& b, const double vs[3], Mesh& m) {
  const int64_t dz = b.z1 - b.z0, dy = b.y1 - b.y0, dx = b.x1 - b.x0;
  const int64_t PZ = dz + 2, PY = dy + 2, PX = dx + 2;  // the box with a background border
  std::vector<uint8_t> mask(static_cast<size_t>(PZ * PY * PX), 0);
  for (int64_t z = 0; z < dz; ++z)
    for (int64_t y = 0; y < dy; ++y) {
      const L* row = labels + ((b.z0 + z) * s.y + b.y0 + y) * s.x + b.x0;
      uint8_t* mrow = mask.data() + ((z + 1) * PY + y + 1) * PX + 1;
      for (int64_t x = 0; x < dx; ++x) mrow[x] = in(row[x]);
    }
  auto at = [&](int64_t z, int64_t y, int64_t x) { return mask[(z * PY + y) * PX + x]; };

  // One vertex per cell (a 2x2x2 block of voxel centres) whose corners disagree, at the mean of
  // the midpoints of its crossing edges.
  const int64_t CZ = PZ - 1, CY = PY - 1, CX = PX - 1;
  std::vector<int32_t> cellVertex(static_cast<size_t>(CZ * CY * CX), -1);
  for (int64_t z = 0; z < CZ; ++z)
    for (int64_t y = 0; y < CY; ++y)
      for (int64_t x = 0; x < CX; ++x) {
        uint8_t c[2][2][2];
        int inside = 0;
        for (int i = 0; i < 2; ++i)
          for (int j = 0; j < 2; ++j)
            for (int k = 0; k < 2; ++k) inside += c[i][j][k] = at(z + i, y + j, x + k);
        if (inside == 0 || inside == 8) continue;
        double sum[3] = {0, 0, 0};  // z, y, x
        int crossings = 0;
        for (int i = 0; i < 2; ++i)
          for (int j = 0; j < 2; ++j) {
            if (c[i][j][0] != c[i][j][1]) sum[0] += i, sum[1] += j, sum[2] += 0.5, ++crossings;
            if (c[i][0][j] != c[i][1][j]) sum[0] += i, sum[1] += 0.5, sum[2] += j, ++crossings;
            if (c[0][i][j] != c[1][i][j]) sum[0] += 0.5, sum[1] += i, sum[2] += j, ++crossings;
          }
        cellVertex[(z * CY + y) * CX + x] = static_cast<int32_t>(m.pos.size() / 3);
        // padded cell corner (z, y, x) is voxel (z - 1, y - 1, x - 1) of the box
        m.pos.push_back((b.x0 + x - 1 + sum[2] / crossings) * vs[2]);
        m.pos.push_back((b.y0 + y - 1 + sum[1] / crossings) * vs[1]);
        m.pos.push_back((b.z0 + z - 1 + sum[0] / crossings) * vs[0]);
      }
  auto vertex = [&](int64_t z, int64_t y, int64_t x) { return static_cast<uint32_t>(cellVertex[(z * CY + y) * CX + x]); };
  auto dist2 = [&](uint32_t a, uint32_t c) {
    double d = 0;
    for (int k = 0; k < 3; ++k) d += (m.pos[3 * a + k] - m.pos[3 * c + k]) * (m.pos[3 * a + k] - m.pos[3 * c + k]);
    return d;
  };
  // q0..q3 counter-clockwise about the outward normal; split along the shorter diagonal.
  auto quad = [&](uint32_t q0, uint32_t q1, uint32_t q2, uint32_t q3, bool flip) {
    if (flip) std::swap(q1, q3);
    if (dist2(q0, q2) <= dist2(q1, q3)) m.tri.insert(m.tri.end(), {q0, q1, q2, q0, q2, q3});
    else m.tri.insert(m.tri.end(), {q1, q2, q3, q1, q3, q0});
  };
  // One quad per voxel edge whose ends disagree, joining the four cells around that edge. Listed
  // counter-clockwise in the plane (u, v) with u x v = +axis, flipped when the inside is upstream.
  // (Along its own axis an edge may start in the border; across it, a sign change means one end is
  // inside the box, so z - 1, y - 1 and x - 1 stay >= 0.)
  for (int64_t z = 0; z < PZ; ++z)
    for (int64_t y = 0; y < PY; ++y)
      for (int64_t x = 0; x < PX; ++x) {
        const uint8_t here = at(z, y, x);
        if (x + 1 < PX && here != at(z, y, x + 1))  // +x: plane (y, z)
          quad(vertex(z - 1, y - 1, x), vertex(z - 1, y, x), vertex(z, y, x), vertex(z, y - 1, x), !here);
        if (y + 1 < PY && here != at(z, y + 1, x))  // +y: plane (z, x)
          quad(vertex(z - 1, y, x - 1), vertex(z, y, x - 1), vertex(z, y, x), vertex(z - 1, y, x), !here);
        if (z + 1 < PZ && here != at(z + 1, y, x))  // +z: plane (x, y)
          quad(vertex(z, y - 1, x - 1), vertex(z, y - 1, x), vertex(z, y, x), vertex(z, y, x - 1), !here);
      }
}

// Taubin's lambda|mu smoothing: Laplacian steps that do not shrink the surface.
void Smooth(Mesh& m, int iterations) {
  const size_t nv = m.pos.size() / 3;
  std::vector<std::vector<uint32_t>> nb(nv);
  for (size_t t = 0; t < m.tri.size(); t += 3)
    for (int k = 0; k < 3; ++k) {
      const uint32_t a = m.tri[t + k], c = m.tri[t + (k + 1) % 3];
      nb[a].push_back(c);
      nb[c].push_back(a);
    }
  for (auto& l : nb) {
    std::sort(l.begin(), l.end());
    l.erase(std::unique(l.begin(), l.end()), l.end());
  }
  std::vector<double> next(m.pos.size());
  for (int it = 0; it < 2 * iterations; ++it) {
    const double f = it % 2 == 0 ? 0.5 : -0.53;
    for (size_t v = 0; v < nv; ++v) {
      double avg[3] = {0, 0, 0};
      for (uint32_t w : nb[v])
        for (int k = 0; k < 3; ++k) avg[k] += m.pos[3 * w + k];
      for (int k = 0; k < 3; ++k) {
        const double p = m.pos[3 * v + k];
        next[3 * v + k] = nb[v].empty() ? p : p + f * (avg[k] / nb[v].size() - p);
      }
    }
    m.pos.swap(next);
  }
}

// Vertex clustering: vertices in the same cube of side `cell` nm become one, at their mean.
// Triangles that collapse are dropped, and so are pairs of coincident triangles facing opposite
// ways, which keeps the surface closed.
void Cluster(Mesh& m, double cell) {
  const size_t nv = m.pos.size() / 3;
  FlatMap cells(nv / 4 + 16);
  std::vector<uint32_t> remap(nv);
  std::vector<double> pos;
  std::vector<double> count;
  for (size_t v = 0; v < nv; ++v) {
    uint64_t key = 0;
    for (int k = 0; k < 3; ++k) key = key << 21 | (static_cast<uint64_t>(std::floor(m.pos[3 * v + k] / cell) + (1 << 20)) & 0x1fffff);
    const uint32_t c = cells.FindOrInsert(key, static_cast<uint32_t>(count.size()));
    if (c == count.size()) {
      count.push_back(0);
      pos.insert(pos.end(), {0, 0, 0});
    }
    for (int k = 0; k < 3; ++k) pos[3 * c + k] += m.pos[3 * v + k];
    count[c] += 1;
    remap[v] = c;
  }
  for (size_t c = 0; c < count.size(); ++c)
    for (int k = 0; k < 3; ++k) pos[3 * c + k] /= count[c];

  struct Tri {
    uint32_t v[3];  // sorted
    bool even;      // orientation relative to the sorted order
    uint32_t a, b, c;
  };
  std::vector<Tri> tris;
  for (size_t t = 0; t < m.tri.size(); t += 3) {
    const uint32_t a = remap[m.tri[t]], b = remap[m.tri[t + 1]], c = remap[m.tri[t + 2]];
    if (a == b || b == c || a == c) continue;
    Tri x{{a, b, c}, true, a, b, c};
    // Sorting a triple by swaps; each swap flips the orientation.
    if (x.v[0] > x.v[1]) std::swap(x.v[0], x.v[1]), x.even = !x.even;
    if (x.v[1] > x.v[2]) std::swap(x.v[1], x.v[2]), x.even = !x.even;
    if (x.v[0] > x.v[1]) std::swap(x.v[0], x.v[1]), x.even = !x.even;
    tris.push_back(x);
  }
  std::sort(tris.begin(), tris.end(), [](const Tri& p, const Tri& q) {
    return std::lexicographical_compare(p.v, p.v + 3, q.v, q.v + 3) || (std::equal(p.v, p.v + 3, q.v) && p.even && !q.even);
  });
  std::vector<uint32_t> out;
  for (size_t i = 0; i < tris.size();) {
    size_t j = i, even = 0;
    while (j < tris.size() && std::equal(tris[j].v, tris[j].v + 3, tris[i].v)) even += tris[j++].even;
    const size_t odd = (j - i) - even;
    // even ones sort first: keep the surplus of the majority orientation
    for (size_t k = 0; k < (even > odd ? even - odd : odd - even); ++k) {
      const Tri& t = tris[even > odd ? i + k : i + even + k];
      out.insert(out.end(), {t.a, t.b, t.c});
    }
    i = j;
  }
  // Drop vertices no triangle uses any more.
  std::vector<uint32_t> used(count.size(), ~0u);
  std::vector<double> kept;
  for (uint32_t& v : out) {
    if (used[v] == ~0u) {
      used[v] = static_cast<uint32_t>(kept.size() / 3);
      kept.insert(kept.end(), pos.begin() + 3 * v, pos.begin() + 3 * v + 3);
    }
    v = used[v];
  }
  m.pos.swap(kept);
  m.tri.swap(out);
}

std::vector<float> Normals(const Mesh& m) {
  std::vector<double> n(m.pos.size(), 0.0);
  for (size_t t = 0; t < m.tri.size(); t += 3) {
    const double* a = &m.pos[3 * m.tri[t]];
    const double* b = &m.pos[3 * m.tri[t + 1]];
    const double* c = &m.pos[3 * m.tri[t + 2]];
    const double e1[3] = {b[0] - a[0], b[1] - a[1], b[2] - a[2]}, e2[3] = {c[0] - a[0], c[1] - a[1], c[2] - a[2]};
    const double cr[3] = {e1[1] * e2[2] - e1[2] * e2[1], e1[2] * e2[0] - e1[0] * e2[2], e1[0] * e2[1] - e1[1] * e2[0]};
    for (int k = 0; k < 3; ++k)  // |cross| is twice the area: an area-weighted sum
      for (int j = 0; j < 3; ++j) n[3 * m.tri[t + k] + j] += cr[j];
  }
  std::vector<float> out(n.size());
  for (size_t v = 0; v < n.size(); v += 3) {
    const double len = std::sqrt(n[v] * n[v] + n[v + 1] * n[v + 1] + n[v + 2] * n[v + 2]);
    for (int k = 0; k < 3; ++k) out[v + k] = len > 0 ? static_cast<float>(n[v + k] / len) : 0.0f;
  }
  return out;
}

class MeshWorker : public PromiseWorker {
 public:
  MeshWorker(Napi::Env env, ArrayArg labels, Shape s, std::vector<uint64_t> ids, Box b, MeshOptions o)
      : PromiseWorker(env), labels_(labels), s_(s), in_(std::move(ids)), b_(b), o_(o) {}
  void Execute() override {
    WithLabels(labels_, [&](auto* l) {
      if (Crop(l, s_, in_, b_)) SurfaceNets(l, s_, in_, b_, o_.voxelSize, m_);
    });
    if (m_.pos.size() / 3 >= (size_t{1} << 32)) return SetError("mesh: too many vertices; mesh a smaller box");
    if (o_.smooth > 0) Smooth(m_, o_.smooth);
    if (o_.cluster > 0) Cluster(m_, o_.cluster);
    normals_ = Normals(m_);
  }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object out = Napi::Object::New(env);
    std::vector<float> pos(m_.pos.begin(), m_.pos.end());
    out.Set("positions", F32Out(env, pos));
    out.Set("normals", F32Out(env, normals_));
    out.Set("indices", U32Out(env, m_.tri));
    return out;
  }

 private:
  ArrayArg labels_;
  Shape s_;
  Members in_;
  Box b_;
  MeshOptions o_;
  Mesh m_;
  std::vector<float> normals_;
};

bool GetNumber(Napi::Object o, const char* key, double lo, double& out) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return true;
  if (!v.IsNumber()) return false;
  out = v.As<Napi::Number>().DoubleValue();
  return std::isfinite(out) && out >= lo;
}

// mesh(labels, [z, y, x], ids, box, { voxelSize: [z, y, x] nm, smooth: iterations, cluster: nm })
//   -> Promise<{ positions: Float32Array, normals: Float32Array, indices: Uint32Array }>
Napi::Value MeshSegment(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string fn = "mesh";
  Shape s;
  Box b;
  ArrayArg labels;
  if (info.Length() < 5 || !GetShape(env, info[1], fn, s) || !GetLabels(env, info[0], s.Voxels(), fn + ": labels", labels) ||
      !GetBox(env, info[3], s, fn, b))
    return env.Null();
  ArrayArg idArg;
  if (!GetLabels(env, info[2], 0, fn + ": ids", idArg)) return env.Null();
  std::vector<uint64_t> ids(idArg.length);
  WithLabels(idArg, [&](auto* p) { std::copy(p, p + idArg.length, ids.begin()); });
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  if (ids.empty() || ids[0] == 0) {
    ThrowRange(env, fn + ": ids must be one or more positive labels (0 is background)");
    return env.Null();
  }
  if (!info[4].IsObject()) {
    ThrowType(env, fn + ": options must be an object");
    return env.Null();
  }
  Napi::Object o = info[4].As<Napi::Object>();
  MeshOptions opts;
  Napi::Value vs = o.Get("voxelSize");
  if (!vs.IsUndefined()) {
    bool ok = vs.IsArray() && vs.As<Napi::Array>().Length() == 3;
    for (uint32_t i = 0; ok && i < 3; ++i) {
      Napi::Value e = vs.As<Napi::Array>().Get(i);
      opts.voxelSize[i] = e.IsNumber() ? e.As<Napi::Number>().DoubleValue() : -1;
      ok = opts.voxelSize[i] > 0 && std::isfinite(opts.voxelSize[i]);
    }
    if (!ok) {
      ThrowRange(env, fn + ": voxelSize must be three positive numbers [z, y, x]");
      return env.Null();
    }
  }
  double smooth = 0;
  if (!GetNumber(o, "smooth", 0, smooth) || smooth > 1000 || !GetNumber(o, "cluster", 0, opts.cluster)) {
    ThrowRange(env, fn + ": smooth must be 0..1000 iterations and cluster a size in nm >= 0");
    return env.Null();
  }
  opts.smooth = static_cast<int>(smooth);
  const double cells = static_cast<double>(b.z1 - b.z0 + 1) * (b.y1 - b.y0 + 1) * (b.x1 - b.x0 + 1);
  if (cells >= 2147483647.0) {
    ThrowRange(env, fn + ": box is too large to mesh at once");
    return env.Null();
  }
  auto* w = new MeshWorker(env, labels, s, std::move(ids), b, opts);
  w->Keep(info[0]);
  return Start(w);
}

}  // namespace

void RegisterMesh(Napi::Env env, Napi::Object exports) {
  exports.Set("mesh", Napi::Function::New(env, MeshSegment, "mesh"));
}

}  // namespace seg
