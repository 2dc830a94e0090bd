import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import * as ort from 'onnxruntime-node'
import { describe, expect, it } from 'vitest'
import { availableProviders } from '../../src/main/engine/runtime/providers'

describe('bundled runtimes load', () => {
  it('better-sqlite3 writes and reads a real WAL database file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tu-sqlite-'))
    const db = new Database(join(dir, 'x.sqlite'))
    expect(db.pragma('journal_mode = WAL', { simple: true })).toBe('wal')
    db.exec('create table t (v integer)')
    db.prepare('insert into t values (?)').run(41)
    expect((db.prepare('select v + 1 as w from t').get() as { w: number }).w).toBe(42)
    db.close()
    rmSync(dir, { recursive: true })
  })

  it('onnxruntime-node offers the CPU provider and refuses a model that is not ONNX', async () => {
    expect(await availableProviders()).toContain('cpu')
    const t = new ort.Tensor('float32', Float32Array.from([1, 2, 3, 4]), [2, 2])
    expect(t.dims).toEqual([2, 2])
    await expect(ort.InferenceSession.create(new Uint8Array([1, 2, 3, 4]))).rejects.toThrow()
  })
})
