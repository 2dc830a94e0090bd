/** Every `tokenunify` subcommand, in the order `--help` lists them. */
import type { Command } from '../command'
import { serve } from './serve'

export const commands: Command[] = [serve]
