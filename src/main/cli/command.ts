/** What every `tokenunify` subcommand provides. */
export interface Command {
  name: string
  /** One line for `tokenunify --help`. */
  summary: string
  /** Full usage text for `tokenunify <name> --help`. */
  usage: string
  /** Runs the command; resolves to the process exit code. */
  run(argv: string[]): Promise<number>
}
