/** Opens the project given on the command line and prints the error it meets as JSON (open.test.ts). */
import { StudioError } from '../../src/shared/errors'
import { openProject } from '../../src/main/engine/store/project'

try {
  openProject(process.argv[2]).close()
  console.log(JSON.stringify({ opened: true }))
} catch (err) {
  const e = err as StudioError
  console.log(JSON.stringify({ code: e.code, message: e.message }))
}
