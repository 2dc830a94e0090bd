import { parseArgs } from 'node:util'
import { StudioError } from '../../../shared/errors'
import type { Vec3 } from '../../../shared/types'
import { wholeGraph, writeModel } from '../../engine/graph/emit'
import { lower, LOWERINGS } from '../../engine/graph/lower'
import { loadCheckpoint, saveSafetensors } from '../../engine/model/checkpoint'
import { sizeConfig, SIZES, type NetworkConfig, type SizeName } from '../../engine/model/config'
import { initialWeights } from '../../engine/model/init'
import { buildNetwork, INPUT, OUTPUT } from '../../engine/model/network'
import { DEFAULT_PATCH, defaultModelPath, META_DESCRIPTION, META_UNTRAINED, modelInfo } from '../../engine/model/runnable'
import { writeGradientFiles } from '../../engine/train/grad'
import type { Command } from '../command'

const USAGE = `tokenunify model <action> [options]

  info [--checkpoint C]
      what a checkpoint holds: size, parameters, whether it is trained (default: the bundled model)
  export-onnx --checkpoint C --out model.onnx [--patch 16,160,160] [--batch 1]
      the network with its weights as a self-contained ONNX graph (opset 17, standard ops only;
      the selective scan in its parallel form) for ONNX Runtime or other tools elsewhere. Input
      '${INPUT}' (batch, 1, z, y, x) float32 = uint8 / 255; output '${OUTPUT}' (batch, 3, z, y, x).
      Weights over 1.8 GB go to model.onnx.data beside it.
  init --out F.safetensors [--size base|small|mid|large|huge] [--feat 8,16,32,64 --hidden 128] [--seed 0]
      fresh, untrained weights (the official initialisation) with the official key names; the
      bundled default model starts from --feat 8,16,32,64 --hidden 128 --seed 0
      (scripts/train-default-model.ts trains it)
  grad --checkpoint C --input X.npy --labels L.npy --out DIR [--threads N]
      one training step's loss and the gradient of every parameter (official targets, weights and
      weighted MSE) as .npy files named by parameter, plus loss.npy, target.npy and weight.npy, for
      checking against other frameworks. X: one patch (z, y, x) or (1, 1, z, y, x), float32 in
      [0, 1] or uint8; L: integer labels of the same patch (0 = background)`

export const model: Command = {
  name: 'model',
  summary: 'inspect, export (ONNX) or create TokenUnify model files',
  usage: USAGE,
  async run(argv) {
    const [action, ...rest] = argv
    const { values } = parseArgs({
      args: rest,
      options: {
        checkpoint: { type: 'string' },
        out: { type: 'string' },
        patch: { type: 'string' },
        batch: { type: 'string', default: '1' },
        size: { type: 'string' },
        feat: { type: 'string' },
        hidden: { type: 'string' },
        seed: { type: 'string', default: '0' },
        input: { type: 'string' },
        labels: { type: 'string' },
        threads: { type: 'string' },
      },
    })
    const print = (line: string) => process.stdout.write(`${line}\n`)
    switch (action) {
      case 'info': {
        const info = await modelInfo(values.checkpoint ?? defaultModelPath())
        print(`${info.path}`)
        print(`  format ${info.format}, size ${info.size}, ${(info.parameters / 1e6).toFixed(3)}M parameters`)
        print(`  feat_size ${info.config.featSize.join(',')}, hidden_size ${info.config.hiddenSize}`)
        print(`  ${info.untrained ? 'UNTRAINED: random initial weights, predictions are meaningless' : 'trained weights'}`)
        if (info.threshold !== undefined) print(`  agglomeration threshold ${info.threshold} (calibrated when it was trained)`)
        if (info.description) print(`  ${info.description}`)
        return 0
      }
      case 'export-onnx': {
        if (!values.checkpoint || !values.out) throw new StudioError('bad_input', 'export-onnx needs --checkpoint and --out')
        const patch = values.patch ? (values.patch.split(',').map(Number) as Vec3) : DEFAULT_PATCH
        const batch = Number(values.batch)
        const checkpoint = await loadCheckpoint(values.checkpoint)
        const graph = lower(buildNetwork(checkpoint.config, { patch, batch }), LOWERINGS.portable)
        const files = writeModel(values.out, wholeGraph(graph), {
          weights: (name) => checkpoint.weights.get(name)?.data,
          docString: 'TokenUnify segmentation network (SegMamba) exported by TokenUnify Studio',
          metadata: {
            config: JSON.stringify(checkpoint.config),
            patch: patch.join(','),
            input: `${INPUT}: (${batch}, 1, ${patch.join(', ')}) float32, raw uint8 intensity / 255`,
            output: `${OUTPUT}: (${batch}, 3, ${patch.join(', ')}) float32 affinities (z, y, x) after sigmoid`,
          },
        })
        print(`wrote ${files.join(' and ')} (${graph.nodes.length} nodes)`)
        return 0
      }
      case 'init': {
        if (!values.out) throw new StudioError('bad_input', 'init needs --out F.safetensors')
        const config = initConfig(values.size, values.feat, values.hidden)
        const seed = Number(values.seed)
        await saveSafetensors(values.out, initialWeights(config, seed), {
          metadata: {
            [META_UNTRAINED]: 'true',
            [META_DESCRIPTION]: `untrained: official random initialisation, seed ${seed}; replace with trained weights`,
            config: JSON.stringify(config),
          },
        })
        print(`wrote ${values.out}`)
        return 0
      }
      case 'grad': {
        if (!values.checkpoint || !values.input || !values.labels || !values.out) {
          throw new StudioError('bad_input', 'grad needs --checkpoint, --input, --labels and --out')
        }
        const threads = values.threads === undefined ? undefined : Number(values.threads)
        const { loss, files } = await writeGradientFiles(values.checkpoint, values.input, values.labels, values.out, { threads })
        print(`loss ${loss}; wrote ${files} files to ${values.out}`)
        return 0
      }
      default:
        throw new StudioError('bad_input', `unknown action '${action ?? ''}'\n\n${USAGE}`)
    }
  },
}

function initConfig(size: string | undefined, feat: string | undefined, hidden: string | undefined): NetworkConfig {
  if (feat || hidden) {
    const featSize = (feat ?? '').split(',').map(Number)
    const hiddenSize = Number(hidden)
    if (featSize.length !== 4 || featSize.some((n) => !Number.isInteger(n) || n < 1) || !Number.isInteger(hiddenSize) || hiddenSize < 1) {
      throw new StudioError('bad_input', '--feat needs four positive integers and --hidden one')
    }
    return { ...sizeConfig('base'), featSize: featSize as NetworkConfig['featSize'], hiddenSize }
  }
  const name = size ?? 'base'
  if (!Object.hasOwn(SIZES, name)) throw new StudioError('bad_input', `--size must be one of ${Object.keys(SIZES).join(', ')}`)
  return sizeConfig(name as SizeName)
}
