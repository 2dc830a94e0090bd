// The segmentation modules (watershed, region graph, agglomeration, split, labels, mesh, metrics);
// RegisterSegment (modules.h) registers them all.
#pragma once
#include <napi.h>

namespace seg {
void RegisterWatershed(Napi::Env env, Napi::Object exports);
void RegisterRegionGraph(Napi::Env env, Napi::Object exports);
void RegisterAgglomerate(Napi::Env env, Napi::Object exports);
void RegisterSplit(Napi::Env env, Napi::Object exports);
void RegisterLabels(Napi::Env env, Napi::Object exports);
void RegisterMesh(Napi::Env env, Napi::Object exports);
void RegisterMetrics(Napi::Env env, Napi::Object exports);
}  // namespace seg
