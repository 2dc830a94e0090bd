import { parseArgs } from 'node:util'
import { StudioError } from '../../../shared/errors'
import type { Vec3 } from '../../../shared/types'
import { JobRunner } from '../../engine/jobs/runner'
import { openProject } from '../../engine/store/project'
import { SCOPES, type Scope } from '../../engine/train/graphs'
import { DEFAULT_SETTINGS, trainOnCorrections, type TrainSettings } from '../../engine/train/job'
import { versionFile } from '../../engine/train/versions'
import type { Command } from '../command'

export const train: Command = {
  name: 'train',
  summary: "fine-tune the project's active model on its corrections",
  usage: `tokenunify train --project P [--scope head|decoder|all] [--steps N] [--lr F] [--held-out F]
                 [--patch 16,80,80] [--threads N]

Fine-tunes the project's active model (the bundled one until a first fine-tuning) on the
project's corrections: reviewed segments are ground truth, merges and splits add the edges they
fixed. A share of the reviewed segments is held out and scored (VOI, adapted Rand error) before
and after. The result becomes a new, active model version of the project; Ctrl+C cancels and
leaves the active version as it was.

  --project P   the project folder
  --scope S     head (output conv), decoder (default: decoder and head), all (with the Mamba encoder)
  --steps N     AdamW steps, one augmented crop each (default ${DEFAULT_SETTINGS.steps})
  --lr F        peak learning rate of the half-cosine schedule (default ${DEFAULT_SETTINGS.lr})
  --held-out F  share of the reviewed segments held out for scoring (default ${DEFAULT_SETTINGS.heldOutShare})
  --patch Z,Y,X training crop (default ${DEFAULT_SETTINGS.patch.join(',')})
  --threads N   CPU threads for ONNX Runtime and the scan kernels`,
  async run(argv) {
    const { values } = parseArgs({
      args: argv,
      options: {
        project: { type: 'string' },
        scope: { type: 'string', default: DEFAULT_SETTINGS.scope },
        steps: { type: 'string', default: String(DEFAULT_SETTINGS.steps) },
        lr: { type: 'string', default: String(DEFAULT_SETTINGS.lr) },
        'held-out': { type: 'string', default: String(DEFAULT_SETTINGS.heldOutShare) },
        patch: { type: 'string', default: DEFAULT_SETTINGS.patch.join(',') },
        threads: { type: 'string' },
      },
    })
    if (!values.project) throw new StudioError('bad_input', '--project is required (see tokenunify train --help)')
    if (!SCOPES.includes(values.scope as Scope)) throw new StudioError('bad_input', `--scope must be one of ${SCOPES.join(', ')}`)
    const number = (text: string, name: string, integer: boolean) => {
      const n = Number(text)
      if (!Number.isFinite(n) || n < 0 || (integer && (!Number.isInteger(n) || n < 1))) throw new StudioError('bad_input', `${name} must be a ${integer ? 'positive integer' : 'non-negative number'}, not ${text}`)
      return n
    }
    const settings: TrainSettings = {
      ...DEFAULT_SETTINGS,
      scope: values.scope as Scope,
      steps: number(values.steps, '--steps', true),
      lr: number(values.lr, '--lr', false),
      heldOutShare: number(values['held-out'], '--held-out', false),
      patch: values.patch.split(',').map((v) => number(v, '--patch', true)) as Vec3,
      ...(values.threads === undefined ? {} : { threads: number(values.threads, '--threads', true) }),
    }
    const project = openProject(values.project)
    const log = (line: string) => process.stderr.write(`${line}\n`)
    try {
      const runner = new JobRunner()
      let shown = ''
      runner.onUpdate((job) => {
        if (job.state === 'running' && job.message !== shown && !job.message.startsWith('step ')) log((shown = job.message))
      })
      const job = runner.start({
        kind: 'train',
        title: 'fine-tune',
        run: (ctx) =>
          trainOnCorrections(project, settings, ctx, {
            step: (r) => {
              if (r.step === 1 || r.step % 10 === 0 || r.step === r.steps) log(`step ${r.step}/${r.steps} loss ${r.loss.toFixed(4)} lr ${r.lr.toExponential(2)}${r.etaSeconds === null ? '' : `, ${Math.round(r.etaSeconds)} s left`}`)
            },
          }),
      })
      const cancel = () => runner.cancel(job.id)
      process.once('SIGINT', cancel)
      try {
        const result = await job.result
        const score = (m: typeof result.before) => (m ? `VOI ${m.voi.toFixed(4)} (split ${m.voiSplit.toFixed(4)}, merge ${m.voiMerge.toFixed(4)}), ARand ${m.arand.toFixed(4)}` : 'no held-out segments')
        process.stdout.write(`held-out before: ${score(result.before)}\nheld-out after:  ${score(result.after)}\n`)
        process.stdout.write(`new active version ${result.versionId}: ${versionFile(project, project.models.get(result.versionId))}\n`)
        return 0
      } finally {
        process.off('SIGINT', cancel)
      }
    } finally {
      project.close()
    }
  },
}
