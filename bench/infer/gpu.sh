#!/usr/bin/env bash
# bench/infer on a machine with an NVIDIA GPU (made for the H200 device: x86-64, Debian-like,
# root, no internet): the CPU and WebGPU (Vulkan) tables, printed and saved.
#
# Run from the repository root with node_modules and native/build present (built on x86-64):
#   bash bench/infer/gpu.sh [extra bench/infer options, e.g. --sizes base,small --runs 3]
#
# Needs on that machine:
#   - Node 20+ on PATH, or NODE=/path/to/node, or a copy at .node/node;
#   - the Vulkan loader. If `ldconfig -p` lists no libvulkan.so.1, this script unpacks the .deb
#     files in .gl/ (made beforehand on a Debian machine with apt, from the repository root:
#       echo /.gl/ >> .git/info/exclude; mkdir -p .gl /tmp/amd64/partial
#       o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
#       apt-get $o update; (cd .gl && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
#     and carried along);
#   - the NVIDIA Vulkan driver (the GPU driver's ICD; /usr/local/nvidia/... on the device).
# Output: the tables on stdout, and in $OUT/bench-infer-gpu.txt when OUT names a folder.
set -euo pipefail
cd "$(dirname "$0")/../.."

node_bin="${NODE:-}"
if [ -z "$node_bin" ]; then
  if command -v node >/dev/null 2>&1; then node_bin="$(command -v node)"
  elif [ -x .node/node ]; then node_bin="$PWD/.node/node"
  else echo "gpu.sh: no Node.js: put node 20+ on PATH, set NODE=..., or copy it to .node/node" >&2; exit 1
  fi
fi
[ -d node_modules/onnxruntime-node ] || { echo "gpu.sh: node_modules is missing (carry it with the repository)" >&2; exit 1; }
[ -f native/build/Release/tokenunify_native.node ] || echo "gpu.sh: native/build is missing: the CPU runs the scan in-graph (slow)" >&2

if ! ldconfig -p | grep -q 'libvulkan\.so\.1'; then
  if ls .gl/*.deb >/dev/null 2>&1; then
    for f in .gl/*.deb; do dpkg -x "$f" /; done
    ldconfig
  else
    echo "gpu.sh: no Vulkan loader (libvulkan.so.1) and no .gl/*.deb to unpack: WebGPU will be skipped" >&2
  fi
fi
nvidia_icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [ -z "${VK_DRIVER_FILES:-}" ] && [ -f "$nvidia_icd" ]; then
  export VK_DRIVER_FILES="$nvidia_icd"
  export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
fi
# Dawn (WebGPU) wants a runtime directory even without a display.
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
chmod 700 "$XDG_RUNTIME_DIR"
# One libuv worker per core for the native scan.
export UV_THREADPOOL_SIZE="${UV_THREADPOOL_SIZE:-$(nproc)}"

out=/dev/null
[ -n "${OUT:-}" ] && out="$OUT/bench-infer-gpu.txt"
{
  echo "== $(date -u +%Y-%m-%dT%H:%MZ) $(uname -m), $(nproc) cores, node $("$node_bin" --version)"
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || echo "(nvidia-smi not available)"
  "$node_bin" --import tsx bench/infer/index.ts --providers cpu,webgpu "$@"
} 2>&1 | grep -v '^Warning: max' | tee "$out"
