/** `tokenunify`: the command-line face of the engine. */
import { StudioError } from '../../shared/errors'
import { appVersion } from '../engine/api'
import { commands } from './commands'

function help(): string {
  const width = Math.max(...commands.map((c) => c.name.length))
  return [
    'TokenUnify Studio: segment and proofread EM volumes with the TokenUnify network.',
    '',
    'Usage: tokenunify <command> [options]',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Options:',
    '  -h, --help     show this help, or a command\'s with `tokenunify <command> --help`',
    '  -v, --version  print the version',
    '',
  ].join('\n')
}

export async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv
  if (first === undefined || first === '-h' || first === '--help' || first === 'help') {
    process.stdout.write(help())
    return first === undefined ? 1 : 0
  }
  if (first === '-v' || first === '--version') {
    process.stdout.write(`${appVersion()}\n`)
    return 0
  }
  const command = commands.find((c) => c.name === first)
  if (!command) {
    process.stderr.write(`tokenunify: unknown command '${first}'\n\n${help()}`)
    return 2
  }
  if (rest.includes('-h') || rest.includes('--help')) {
    process.stdout.write(`${command.usage}\n`)
    return 0
  }
  try {
    return await command.run(rest)
  } catch (err) {
    const where = err instanceof StudioError && err.file ? ` (${err.file})` : ''
    process.stderr.write(`tokenunify ${command.name}: ${(err as Error).message}${where}\n`)
    return 1
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code
  },
  (err: unknown) => {
    process.stderr.write(`tokenunify: ${String(err)}\n`)
    process.exitCode = 1
  },
)
