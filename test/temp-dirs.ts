/** Temporary folders a test file makes, removed together afterwards (afterAll(removeTempDirs)). */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export function tempDirs(prefix: string): { tempDir(): string; removeTempDirs(): void } {
  const made: string[] = []
  return {
    tempDir() {
      const dir = mkdtempSync(join(tmpdir(), prefix))
      made.push(dir)
      return dir
    },
    removeTempDirs() {
      for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true })
    },
  }
}
