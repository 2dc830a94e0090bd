import { parseArgs } from 'node:util'
import { StudioError } from '../../../shared/errors'
import type { Vec3 } from '../../../shared/types'
import { writeVolume } from '../../engine/io/write'
import type { Scoring } from '../../engine/segment/agglomerate'
import { readAffinities } from '../../engine/segment/files'
import type { FragmentMode } from '../../engine/segment/fragments'
import { relabel } from '../../engine/segment/labels'
import { DEFAULT_THRESHOLD, Segmentation } from '../../engine/segment/segmentation'
import type { Command } from '../command'

export const segment: Command = {
  name: 'segment',
  summary: 'segment affinities: watershed fragments, then agglomeration at a threshold',
  usage: `tokenunify segment --affinities A --out S [--threshold 0.5] [--fragments 2d|3d]
                   [--scoring waterz|median] [--dataset D] [--overwrite]

Watershed fragments from the affinities, then hierarchical agglomeration (waterz's scoring:
merge while 1 - median boundary affinity < threshold), then consecutive ids, as the paper does.

  --affinities A  (3, z, y, x) affinities, uint8 (value / 255) or float32, in any volume format the
                  app reads or .npy (what \`tokenunify infer\` writes)
  --dataset D     dataset inside an HDF5/Zarr/N5 container
  --out S         label volume (uint32): .npy, .zarr, .h5 or .tif
  --threshold T   0..1 (default ${DEFAULT_THRESHOLD}); higher merges more
  --fragments M   2d: per z-slice, as the paper's evaluation (default); 3d: whole volume
  --scoring S     waterz: as the paper ran waterz (default); median: median of every boundary link
  --overwrite     replace S if it exists`,
  async run(argv) {
    const { values } = parseArgs({
      args: argv,
      options: {
        affinities: { type: 'string' },
        dataset: { type: 'string' },
        out: { type: 'string' },
        threshold: { type: 'string', default: String(DEFAULT_THRESHOLD) },
        fragments: { type: 'string', default: '2d' },
        scoring: { type: 'string', default: 'waterz' },
        overwrite: { type: 'boolean', default: false },
      },
    })
    if (!values.affinities || !values.out) throw new StudioError('bad_input', '--affinities and --out are required (see tokenunify segment --help)')
    const threshold = Number(values.threshold)
    if (!(threshold >= 0 && threshold <= 1)) throw new StudioError('bad_input', `--threshold: need a number in [0, 1], got ${values.threshold}`)
    if (values.fragments !== '2d' && values.fragments !== '3d') throw new StudioError('bad_input', `--fragments: 2d or 3d, not ${values.fragments}`)
    if (values.scoring !== 'waterz' && values.scoring !== 'median') throw new StudioError('bad_input', `--scoring: waterz or median, not ${values.scoring}`)
    const log = (line: string) => process.stderr.write(`${line}\n`)

    const started = performance.now()
    const affinities = await readAffinities(values.affinities, values.dataset)
    const { voxelSize } = affinities
    log(`affinities ${affinities.shape.join('x')} ${affinities.data instanceof Uint8Array ? 'uint8' : 'float32'}`)
    const sampling = voxelSize && (voxelSize.map((v) => v / Math.min(...voxelSize)) as Vec3)
    const seg = await Segmentation.fromAffinities(affinities, {
      mode: values.fragments as FragmentMode,
      scoring: values.scoring as Scoring,
      ...(values.fragments === '3d' && sampling ? { sampling } : {}),
    })
    log(`${seg.graph.ids.length} fragments, ${seg.graph.u.length} edges, ${seg.history.length} merges`)
    // The segments go into the fragment array itself, then to consecutive ids: no second volume.
    const labels = await seg.labels(threshold, seg.fragments.data)
    const { ids } = await relabel(labels, { inPlace: true })
    await writeVolume(values.out, labels.data, labels.shape, 'uint32', { overwrite: values.overwrite, ...(voxelSize ? { voxelSize } : {}) })
    const seconds = (performance.now() - started) / 1000
    process.stdout.write(`${JSON.stringify({ out: values.out, fragments: seg.graph.ids.length, segments: ids.length, threshold, seconds: Number(seconds.toFixed(2)) })}\n`)
    return 0
  },
}
