/**
 * Label ids of every loaded chunk, renumbered densely (0 stays 0), and a lookup texture from the
 * dense number to a colour and flags. Label textures hold dense numbers, so recolouring (a merge,
 * a selection, hover) rewrites a few bytes of this table and never touches a label texture.
 */
import { DataTexture, NearestFilter, RGBAFormat, UnsignedByteType } from 'three'

export type LabelArray = Uint32Array | BigUint64Array

/** Bits of the lookup texture's alpha byte, read by the slice shader. */
export const FLAG = { visible: 1, selected: 2, hover: 4, marked: 8 } as const

/** Colour and flags of one label id: [r, g, b, flags], each 0..255. */
export type LabelStyle = (label: number) => readonly [number, number, number, number]

export const LUT_WIDTH = 4096

export class LabelTable {
  private readonly index = new Map<number, number>([[0, 0]])
  private ids: number[] = [0]
  private lut = new Uint8Array(LUT_WIDTH * 4)
  texture: DataTexture = this.makeTexture()
  /** Called with the new texture when the table outgrows the old one. */
  onTexture: (t: DataTexture) => void = () => {}

  constructor(private style: LabelStyle) {}

  get size(): number {
    return this.ids.length
  }

  /** The label id of dense number `i`. */
  labelOf(i: number): number {
    return this.ids[i] ?? 0
  }

  /** Dense numbers of a chunk's labels (uint64 ids must stay below 2^53). */
  densify(labels: LabelArray): Uint32Array {
    const out = new Uint32Array(labels.length)
    const before = this.ids.length
    let last = 0
    let lastIndex = 0
    if (labels instanceof Uint32Array) {
      for (let i = 0; i < labels.length; i++) {
        const v = labels[i]
        out[i] = v === last ? lastIndex : (lastIndex = this.lookup((last = v)))
      }
    } else {
      const words = new Uint32Array(labels.buffer, labels.byteOffset, labels.length * 2)
      let lastHi = 0
      for (let i = 0; i < labels.length; i++) {
        const lo = words[2 * i]
        const hi = words[2 * i + 1]
        if (lo !== last || hi !== lastHi) {
          last = lo
          lastHi = hi
          lastIndex = this.lookup(hi * 4294967296 + lo)
        }
        out[i] = lastIndex
      }
    }
    if (this.ids.length > before) this.restyleRange(before, this.ids.length)
    return out
  }

  /** Recomputes every entry with a new style (or the current one). */
  restyle(style: LabelStyle = this.style): void {
    this.style = style
    this.restyleRange(0, this.ids.length)
  }

  dispose(): void {
    this.texture.dispose()
  }

  private lookup(label: number): number {
    let i = this.index.get(label)
    if (i === undefined) {
      i = this.ids.length
      this.index.set(label, i)
      this.ids.push(label)
    }
    return i
  }

  private restyleRange(from: number, to: number): void {
    if (to * 4 > this.lut.length) this.grow(to)
    const lut = this.lut
    for (let i = from; i < to; i++) {
      const s = this.style(this.ids[i])
      lut[4 * i] = s[0]
      lut[4 * i + 1] = s[1]
      lut[4 * i + 2] = s[2]
      lut[4 * i + 3] = i === 0 ? 0 : s[3]
    }
    this.texture.needsUpdate = true
  }

  private grow(entries: number): void {
    let rows = this.lut.length / 4 / LUT_WIDTH
    while (rows * LUT_WIDTH < entries) rows *= 2
    const lut = new Uint8Array(rows * LUT_WIDTH * 4)
    lut.set(this.lut)
    this.lut = lut
    this.texture.dispose()
    this.texture = this.makeTexture()
    this.onTexture(this.texture)
  }

  private makeTexture(): DataTexture {
    const t = new DataTexture(this.lut, LUT_WIDTH, this.lut.length / 4 / LUT_WIDTH, RGBAFormat, UnsignedByteType)
    t.minFilter = NearestFilter
    t.magFilter = NearestFilter
    t.generateMipmaps = false
    t.needsUpdate = true
    return t
  }
}
