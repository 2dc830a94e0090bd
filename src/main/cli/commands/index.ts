/** Every `tokenunify` subcommand, in the order `--help` lists them. */
import type { Command } from '../command'
import { model } from './model'
import { serve } from './serve'

export const commands: Command[] = [serve, model]
