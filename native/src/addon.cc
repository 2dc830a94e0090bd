// Entry point of the native addon: each module registers its functions on `exports`.
#include "modules.h"

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  RegisterHistogram(env, exports);
  RegisterScan(env, exports);
  RegisterScanBackward(env, exports);
  RegisterSegment(env, exports);
  return exports;
}

NODE_API_MODULE(tokenunify_native, Init)
