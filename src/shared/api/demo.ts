import type { ProjectInfo, VolumeInfo } from '../types'

export interface DemoCalls {
  /**
   * The demo: a synthetic EM volume (engine/io/synthetic.ts) and its ground-truth labels, opened
   * as volumes, and a new project for it in `dir` (default: a new folder in the OS temp folder)
   * with the raw volume written there as its 'raw' source.
   */
  'demo.open': { args: { dir?: string }; result: { image: VolumeInfo; labels: VolumeInfo; project: ProjectInfo } }
}
