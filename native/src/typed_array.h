// Helpers to read N-API typed arrays without copying.
#pragma once
#include <napi.h>
#include <cstddef>
#include <string>

// Throws a JS TypeError and returns false when `value` is not a typed array.
inline bool RequireTypedArray(Napi::Env env, const Napi::Value& value, const char* what) {
  if (!value.IsTypedArray()) {
    Napi::TypeError::New(env, std::string(what) + " must be a typed array").ThrowAsJavaScriptException();
    return false;
  }
  return true;
}

inline const char* TypedArrayTypeName(napi_typedarray_type t) {
  switch (t) {
    case napi_uint8_array: return "uint8";
    case napi_uint16_array: return "uint16";
    case napi_uint32_array: return "uint32";
    case napi_float32_array: return "float32";
    case napi_float64_array: return "float64";
    case napi_biguint64_array: return "uint64";
    default: return "unsupported";
  }
}
