// One Register function per native module; addon.cc calls each.
#pragma once
#include <napi.h>

void RegisterHistogram(Napi::Env env, Napi::Object exports);
void RegisterScan(Napi::Env env, Napi::Object exports);
void RegisterScanBackward(Napi::Env env, Napi::Object exports);
void RegisterSegment(Napi::Env env, Napi::Object exports);
