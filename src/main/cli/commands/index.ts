/** Every `tokenunify` subcommand, in the order `--help` lists them. */
import type { Command } from '../command'
import { evalCommand } from './eval'
import { infer } from './infer'
import { info } from './info'
import { model } from './model'
import { segment } from './segment'
import { serve } from './serve'
import { train } from './train'

export const commands: Command[] = [serve, info, infer, segment, evalCommand, train, model]
