/**
 * Child of concurrency.test.ts: a background job recording results on its own connection (a loss
 * point per step, a segmentation run every 50 steps) until its stdin closes.
 */
import { writeTransaction } from '../../src/main/engine/store/database'
import { TrainingLog } from '../../src/main/engine/store/models'
import { openProjectDatabase } from '../../src/main/engine/store/project'
import { insertSegmentationRun } from '../../src/main/engine/store/runs'

const db = openProjectDatabase(process.argv[2])
const training = new TrainingLog(db)
const run = training.start({ job: 'background writer' })
let stop = false
process.stdin.on('end', () => (stop = true)).resume()
process.stdout.write(`ready ${run.id}\n`)
let step = 0
let runs = 0
while (!stop) {
  training.appendLoss(run.id, [{ step, loss: 1 / (step + 1) }])
  if (++step % 50 === 0) {
    writeTransaction(db, () => insertSegmentationRun(db, { thresholds: { merge: step / 1000 }, labelShape: [8, 64, 64] }))
    runs++
  }
  await new Promise((resolve) => setImmediate(resolve))
}
training.finish(run.id, 'done', { points: step })
db.close()
process.stdout.write(`done ${run.id} ${step} ${runs}\n`)
