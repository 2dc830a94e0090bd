import { parseArgs } from 'node:util'
import { StudioError } from '../../../shared/errors'
import { readLabels } from '../../engine/segment/files'
import { evaluate } from '../../engine/segment/metrics'
import type { Command } from '../command'

export const evalCommand: Command = {
  name: 'eval',
  summary: 'score a segmentation against ground truth: VOI split/merge and adapted Rand error',
  usage: `tokenunify eval --seg S --gt G [--seg-dataset D] [--gt-dataset D] [--top N]

Prints JSON {voi_split, voi_merge, voi, arand}: variation of information in bits and the adapted
Rand error, as skimage.metrics computes them with ground-truth label 0 ignored (the paper's
evaluation). With --top N, also the N ground-truth objects most split (worst_splits) and the N
segments most merged (worst_merges), with their share of VOI in bits.

  --seg S, --gt G   label volumes in any format the app reads, or .npy (uint8..uint64, int32/int64)`,
  async run(argv) {
    const { values } = parseArgs({
      args: argv,
      options: {
        seg: { type: 'string' },
        gt: { type: 'string' },
        'seg-dataset': { type: 'string' },
        'gt-dataset': { type: 'string' },
        top: { type: 'string' },
      },
    })
    if (!values.seg || !values.gt) throw new StudioError('bad_input', '--seg and --gt are required (see tokenunify eval --help)')
    const top = values.top === undefined ? 0 : Number(values.top)
    if (!Number.isInteger(top) || top < 0) throw new StudioError('bad_input', `--top: need a whole number, got ${values.top}`)
    const seg = await readLabels(values.seg, values['seg-dataset'])
    const gt = await readLabels(values.gt, values['gt-dataset'])
    const r = await evaluate(seg, gt)
    const out = {
      voi_split: r.voiSplit,
      voi_merge: r.voiMerge,
      voi: r.voi,
      arand: r.arand,
      ...(top > 0
        ? {
            worst_splits: r.splits.slice(0, top).map((s) => ({ gt: s.id, bits: s.bits })),
            worst_merges: r.merges.slice(0, top).map((s) => ({ seg: s.id, bits: s.bits })),
          }
        : {}),
    }
    process.stdout.write(`${JSON.stringify(out)}\n`)
    return 0
  },
}
