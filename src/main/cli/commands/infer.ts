import { parseArgs } from 'node:util'
import { StudioError } from '../../../shared/errors'
import type { Vec3 } from '../../../shared/types'
import { inferToFile } from '../../engine/infer/run'
import { openVolume } from '../../engine/io/open'
import { JobRunner } from '../../engine/jobs/runner'
import { sizeConfig, SIZES, type SizeName } from '../../engine/model/config'
import { DEFAULT_PATCH, defaultModelPath, type RunnableModel } from '../../engine/model/runnable'
import { parseProviderChoice } from '../../engine/runtime/providers'
import type { Command } from '../command'

export const infer: Command = {
  name: 'infer',
  summary: 'predict affinities of a volume with the TokenUnify network',
  usage: `tokenunify infer --input V --out A [--checkpoint C] [--size auto] [--provider auto]
                 [--patch 16,160,160] [--overlap 0.25] [--batch 1] [--threads N] [--dataset D]

Runs the network over the whole volume in overlapping windows blended with a Gaussian, and
writes affinities (z, y, x) for every voxel.

  --input V       any volume the app reads (TIFF, HDF5, Zarr, N5, slice folder) or .npy;
                  uint8 is divided by 255 as in training, float volumes are taken as [0, 1]
  --dataset D     dataset inside an HDF5/Zarr/N5 container
  --out A         .npy (float32, shape 3 x Z x Y x X) or .zarr (uint8 = round(255 * affinity))
  --checkpoint C  .pth or .safetensors (default: the bundled model)
  --size S        auto (from the weights' shapes) or base|small|mid|large|huge to insist on one
  --provider P    auto (GPU first) | cpu | webgpu | cuda; falls back to the CPU and says why
  --patch Z,Y,X   window (default 16,160,160); sides multiples of 16, each stage's tokens of 5
  --overlap F     fraction shared by neighbouring windows (default 0.25)
  --batch N       windows per run (default 1)
  --threads N     CPU threads for ONNX Runtime and the scan kernel`,
  async run(argv) {
    const { values } = parseArgs({
      args: argv,
      options: {
        checkpoint: { type: 'string' },
        input: { type: 'string' },
        dataset: { type: 'string' },
        out: { type: 'string' },
        size: { type: 'string', default: 'auto' },
        provider: { type: 'string', default: 'auto' },
        patch: { type: 'string' },
        overlap: { type: 'string', default: '0.25' },
        batch: { type: 'string', default: '1' },
        threads: { type: 'string' },
      },
    })
    if (!values.input || !values.out) throw new StudioError('bad_input', '--input and --out are required (see tokenunify infer --help)')
    const patch = values.patch ? parsePatch(values.patch) : DEFAULT_PATCH
    const overlap = Number(values.overlap)
    const batch = positiveInt(values.batch, '--batch')
    const threads = values.threads === undefined ? undefined : positiveInt(values.threads, '--threads')
    const size = values.size === 'auto' ? undefined : parseSize(values.size)
    const checkpoint = values.checkpoint ?? defaultModelPath()

    const source = await openVolume(values.input, values.dataset === undefined ? {} : { dataset: values.dataset })
    const log = (line: string) => process.stderr.write(`${line}\n`)
    const onModel = (model: RunnableModel) => {
      const { info } = model
      log(`model ${info.path}: ${info.size}, ${(info.parameters / 1e6).toFixed(2)}M parameters${info.untrained ? ', UNTRAINED (random weights)' : ''}`)
      for (const p of model.passedOver) log(`provider ${p.provider} not used: ${p.reason}`)
      log(`provider ${model.provider} (selective scan ${model.scan}); volume ${source.shape.join('x')} ${source.dtype}; patch ${patch.join('x')}, overlap ${overlap}, batch ${batch}`)
    }
    const options = { checkpoint, provider: parseProviderChoice(values.provider), patch, batch, threads, overlap, onModel, ...(size ? { config: sizeConfig(size) } : {}) }
    const runner = new JobRunner()
    let lastShown = -1
    runner.onUpdate((job) => {
      const percent = Math.floor(job.progress * 100)
      if (job.state === 'running' && percent >= lastShown + 5) {
        lastShown = percent
        log(`${percent}% ${job.message}${job.etaSeconds === null ? '' : `, ${Math.round(job.etaSeconds)} s left`}`)
      }
    })
    const job = runner.start({ kind: 'infer', title: `Infer ${source.name}`, run: (ctx) => inferToFile(source, values.out!, options, ctx) })
    const cancel = () => runner.cancel(job.id)
    process.once('SIGINT', cancel)
    try {
      const result = await job.result
      const voxels = source.shape.reduce((a, b) => a * b, 1)
      log(`wrote ${result.out}: ${result.windows} windows in ${result.runs} runs, ${result.seconds.toFixed(1)} s, ${(voxels / result.seconds / 1e6).toFixed(3)} Mvoxel/s`)
      return 0
    } finally {
      process.off('SIGINT', cancel)
      await source.close()
    }
  },
}

function parsePatch(text: string): Vec3 {
  const parts = text.split(',').map(Number)
  if (parts.length !== 3 || parts.some((n) => !Number.isInteger(n) || n <= 0)) throw new StudioError('bad_input', `--patch must be Z,Y,X positive integers, got '${text}'`)
  return parts as Vec3
}

function positiveInt(text: string, what: string): number {
  const n = Number(text)
  if (!Number.isInteger(n) || n < 1) throw new StudioError('bad_input', `${what} must be a positive integer, got '${text}'`)
  return n
}

function parseSize(text: string): SizeName {
  if (!Object.hasOwn(SIZES, text)) throw new StudioError('bad_input', `--size must be auto or one of ${Object.keys(SIZES).join(', ')}, got '${text}'`)
  return text as SizeName
}
