import { parseArgs } from 'node:util'
import { createEngine } from '../../engine/api'
import { appPaths } from '../../engine/paths'
import { startServer } from '../../server'
import type { Command } from '../command'

export const serve: Command = {
  name: 'serve',
  summary: 'run the app in a browser: engine in Node, UI at a private 127.0.0.1 URL',
  usage: `tokenunify serve [project] [--port N] [--demo]

Starts the engine and serves the app on 127.0.0.1 only, with the project folder open when one is
given. Open the printed URL (it carries a random token; requests without it are refused). For a
remote GPU server, forward the port over SSH: ssh -L 8080:127.0.0.1:8080 server, then
tokenunify serve --port 8080 there.

  --demo   open the demo: a synthetic EM volume with its ground-truth labels, in a new project
           (in [project] when given, which must not exist or be empty; else in a temp folder)`,
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      options: { port: { type: 'string' }, demo: { type: 'boolean' } },
      allowPositionals: true,
    })
    const port = values.port === undefined ? 0 : Number(values.port)
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port: not a port number: ${values.port}`)
    if (positionals.length > 1) throw new Error(`serve takes one project folder, not ${positionals.length}`)
    const engine = createEngine({ mode: 'browser' })
    const [dir] = positionals
    if (values.demo) {
      const demo = await engine.call('demo.open', dir === undefined ? {} : { dir })
      process.stdout.write(`Demo project in ${demo.project.dir}\n`)
    } else if (dir !== undefined) {
      await engine.call('project.open', { dir })
    }
    const server = await startServer({ engine, rendererDir: appPaths().renderer, port })
    process.stdout.write(`TokenUnify Studio is running at\n  ${server.url}\nPress Ctrl+C to stop.\n`)
    await new Promise<void>((resolve) => {
      const stop = () => resolve()
      process.once('SIGINT', stop)
      process.once('SIGTERM', stop)
    })
    await server.close()
    await engine.close()
    return 0
  },
}
