/**
 * Child of crash.test.ts: runs the edit stream on a project and prints "<count> <edit id>" after
 * each committed operation, until it is killed.
 */
import { openProject } from '../../src/main/engine/store/project'
import { rng, step } from './edit-stream'

const [dir, total] = [process.argv[2], Number(process.argv[3])]
const project = openProject(dir, { author: 'stream' })
const random = rng()
let committed = 0
while (committed < total) {
  const record = step(project, random)
  // Writes to a pipe are synchronous on Linux: a printed line was sent before the next edit.
  if (record) process.stdout.write(`${++committed} ${record.id}\n`)
}
project.close()
