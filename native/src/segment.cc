// Registers every segmentation module on the addon's exports.
#include "modules.h"
#include "segment.h"

void RegisterSegment(Napi::Env env, Napi::Object exports) {
  seg::RegisterWatershed(env, exports);
  seg::RegisterRegionGraph(env, exports);
  seg::RegisterAgglomerate(env, exports);
  seg::RegisterSplit(env, exports);
  seg::RegisterLabels(env, exports);
  seg::RegisterMesh(env, exports);
  seg::RegisterMetrics(env, exports);
}
