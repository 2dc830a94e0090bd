/** Which ONNX Runtime execution providers this machine offers. */
import * as ort from 'onnxruntime-node'

export async function availableProviders(): Promise<string[]> {
  return ort
    .listSupportedBackends()
    .filter((b) => b.bundled)
    .map((b) => b.name)
}
