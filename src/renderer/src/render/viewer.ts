/**
 * The views' one WebGL canvas (three.js). It lies under the panes of the view grid and draws
 * each visible pane into its own viewport, so every chunk texture is uploaded once and serves
 * the XY, XZ and YZ slices and the slice planes of the 3D view. Rendering happens on demand,
 * in the next animation frame after something changed.
 *
 * World space is nm with three's X, Y, Z = the volume's x, y, z.
 */
import {
  AmbientLight,
  BoxGeometry,
  BufferAttribute,
  BufferGeometry,
  Color,
  DirectionalLight,
  DoubleSide,
  EdgesGeometry,
  GLSL3,
  Group,
  LineBasicMaterial,
  LineSegments,
  Mesh,
  MeshLambertMaterial,
  OrthographicCamera,
  PerspectiveCamera,
  PlaneGeometry,
  Scene,
  ShaderMaterial,
  Vector2,
  Vector3,
  WebGLRenderer,
  type IUniform,
} from 'three'
import { OrbitControls } from 'three/examples/jsm/controls/OrbitControls.js'
import type { Vec3 } from '../../../shared/types'
import { ChunkGrid, type ChunkKey } from './chunkGrid'
import { ChunkStore, texture3D, type Chunk, type Layer } from './chunkStore'
import { AXES, SLICE_VIEWS, visibleBox, voxelIndex, type SliceView, type ViewId } from './geometry'
import { LabelTable, type LabelStyle } from './labelTable'
import { sliceFragmentShader, sliceVertexShader } from './sliceShader'

export interface ViewerSettings {
  /** Crosshair and centre of every slice view, in voxels (z, y, x). */
  position: Vec3
  /** nm per CSS pixel in the slice views. */
  scale: number
  /** Raw values drawn black and white. */
  window: [number, number]
  opacity: number
  selectedOpacity: number
  showSlicesIn3d: boolean
  showImage: boolean
}

/** three.js layers: one per slice orientation, and one for what only the 3D view shows. */
const LAYER: Record<SliceView | '3d', number> = { xy: 1, xz: 2, yz: 3, '3d': 4 }
/** (z, y, x) axis index → three's vector component. */
const COMPONENT = ['z', 'y', 'x'] as const

const PANE_BACKGROUND = new Color('#0b0c0f')
/** Chunks one slice view asks for at most (256 chunks of 128 x 128 cover 2048 x 2048 voxels). */
const MAX_CHUNKS_PER_VIEW = 256
const GAP = new Color('#2c313b')

interface ChunkDrawing {
  material: ShaderMaterial
  planes: Record<SliceView, Mesh>
}

interface Rect {
  x: number
  y: number
  width: number
  height: number
}

export class Viewer {
  readonly table: LabelTable
  settings: ViewerSettings = {
    position: [0, 0, 0],
    scale: 1,
    window: [0, 255],
    opacity: 0.45,
    selectedOpacity: 0.75,
    showSlicesIn3d: true,
    showImage: true,
  }
  /** Called after a frame was drawn (and, with `syncAfterRender`, finished on the GPU). */
  onRendered: ((frame: number) => void) | null = null
  syncAfterRender = false
  onError: (message: string) => void = () => {}

  private readonly renderer: WebGLRenderer
  private readonly scene = new Scene()
  private readonly cameras: Record<SliceView, OrthographicCamera>
  private readonly camera3d = new PerspectiveCamera(40, 1, 1, 1e7)
  private controls: OrbitControls | null = null
  private readonly panes = new Map<ViewId, HTMLElement>()
  private readonly planeGeometry: Record<SliceView, PlaneGeometry>
  private readonly drawings = new Map<ChunkKey, ChunkDrawing>()
  private readonly segmentMeshes = new Map<number, Mesh>()
  private readonly meshGroup = new Group()
  private readonly uniforms: Record<string, IUniform>
  private readonly emptyTexture = texture3D(new Uint8Array(1), 'uint8', { start: [0, 0, 0], stop: [1, 1, 1] })
  private readonly emptyLabels = texture3D(new Uint32Array(1), 'uint32', { start: [0, 0, 0], stop: [1, 1, 1] })
  private image: Layer | null = null
  private grid: ChunkGrid | null = null
  private store: ChunkStore | null = null
  private bounds: LineSegments | null = null
  private voxelSize: Vec3 = [1, 1, 1]
  /** What the 3D camera orbits: the crosshair, moved by panning in the 3D view. */
  private readonly target3d = new Vector3()
  private frame = 0
  private scheduled = 0
  private idleWaiters: Array<() => void> = []
  private readonly resizeObserver: ResizeObserver

  constructor(
    private readonly canvas: HTMLCanvasElement,
    style: LabelStyle,
  ) {
    this.renderer = new WebGLRenderer({ canvas, antialias: false, powerPreference: 'high-performance' })
    this.renderer.setPixelRatio(window.devicePixelRatio)
    this.renderer.autoClear = false
    this.table = new LabelTable(style)
    this.uniforms = {
      lut: { value: this.table.texture },
      voxelSize: { value: new Vector3(1, 1, 1) },
      window: { value: new Vector2(0, 255) },
      opacity: { value: this.settings.opacity },
      selectedOpacity: { value: this.settings.selectedOpacity },
      hasRaw: { value: false },
      hasLabels: { value: false },
    }
    this.table.onTexture = (t) => (this.uniforms.lut.value = t)

    this.cameras = {
      xy: new OrthographicCamera(),
      xz: new OrthographicCamera(),
      yz: new OrthographicCamera(),
    }
    for (const v of SLICE_VIEWS) this.cameras[v].layers.set(LAYER[v])
    this.planeGeometry = {
      xy: new PlaneGeometry(1, 1),
      xz: new PlaneGeometry(1, 1).rotateX(Math.PI / 2),
      yz: new PlaneGeometry(1, 1).rotateY(Math.PI / 2),
    }

    this.camera3d.up.set(0, -1, 0)
    this.camera3d.layers.set(LAYER['3d'])
    const ambient = new AmbientLight(0xffffff, 1.2)
    const key = new DirectionalLight(0xffffff, 1.8)
    key.position.set(0.3, -0.5, -1)
    ambient.layers.enableAll()
    key.layers.enableAll()
    this.camera3d.add(key)
    this.scene.add(ambient, this.camera3d, this.meshGroup)

    this.resizeObserver = new ResizeObserver(() => this.requestRender())
    this.resizeObserver.observe(canvas)
  }

  /** Shows an image and/or a segmentation volume (same shape); either may be null. */
  setLayers(image: Layer | null, labels: Layer | null): void {
    const shapeOf = (l: Layer | null) => l?.info.shape
    const a = shapeOf(image)
    const b = shapeOf(labels)
    if (a && b && a.join() !== b.join()) {
      throw new Error(`the segmentation ${labels?.info.name} (${b.join('x')}) does not match the image ${image?.info.name} (${a.join('x')})`)
    }
    this.clearChunks()
    this.image = image
    const info = image?.info ?? labels?.info
    if (!info) {
      this.grid = null
      this.requestRender()
      return
    }
    this.voxelSize = image?.info.voxelSize ?? labels?.info.voxelSize ?? [1, 1, 1]
    this.uniforms.voxelSize.value = toWorld([1, 1, 1], this.voxelSize)
    // Mesh vertices sit at voxel index x voxel size; voxel centres are half a voxel further.
    this.meshGroup.position.copy(toWorld([0.5, 0.5, 0.5], this.voxelSize))
    this.uniforms.hasRaw.value = image !== null && this.settings.showImage
    this.uniforms.hasLabels.value = labels !== null
    this.grid = ChunkGrid.forVolume(info.shape, this.voxelSize)
    this.store = new ChunkStore({
      image,
      labels,
      grid: this.grid,
      table: this.table,
      onReady: (chunk) => this.chunkReady(chunk),
      onEvict: (chunk) => this.dropDrawing(chunk.key),
      onError: (message) => this.onError(message),
    })
    this.setBounds(info.shape)
    this.frame3d()
    this.requestRender()
  }

  /** Chunk reads queued or on their way. */
  get pending(): number {
    return this.store?.pending ?? 0
  }

  get shape(): Vec3 | null {
    return this.grid?.shape ?? null
  }

  /** Registers (or with null, forgets) the element a view is drawn under. */
  setPane(id: ViewId, el: HTMLElement | null): void {
    if (el) this.panes.set(id, el)
    else this.panes.delete(id)
    if (id === '3d') {
      this.controls?.dispose()
      this.controls = null
      if (el) {
        const controls = new OrbitControls(this.camera3d, el)
        controls.target.copy(this.target3d)
        controls.zoomToCursor = true
        controls.addEventListener('change', () => {
          this.target3d.copy(controls.target)
          this.requestRender()
        })
        controls.update()
        this.controls = controls
      }
    }
    this.requestRender()
  }

  update(settings: Partial<ViewerSettings>): void {
    const before = this.settings.position
    this.settings = { ...this.settings, ...settings }
    if (settings.position) {
      // The 3D view keeps its angle and distance and follows the crosshair.
      const delta = toWorld(this.settings.position, this.voxelSize).sub(toWorld(before, this.voxelSize))
      this.camera3d.position.add(delta)
      this.target3d.add(delta)
      this.controls?.target.copy(this.target3d)
      this.controls?.update()
    }
    this.uniforms.window.value.set(...this.settings.window)
    this.uniforms.opacity.value = this.settings.opacity
    this.uniforms.selectedOpacity.value = this.settings.selectedOpacity
    this.uniforms.hasRaw.value = this.image !== null && this.settings.showImage
    this.requestRender()
  }

  /** Recolours every label (a merge, a selection, hover): rewrites the lookup table only. */
  restyle(style?: LabelStyle): void {
    this.table.restyle(style)
    this.requestRender()
  }

  /** Label id and raw value at an integer voxel, from loaded chunks; null where nothing is loaded. */
  probe(voxel: Vec3): { label: number | null; raw: number | null } | null {
    if (!this.grid || !this.store) return null
    const v = voxelIndex(voxel, this.grid.shape)
    const chunk = this.store.get(this.grid.chunkOf(v))
    if (!chunk || chunk.state !== 'ready') return null
    const h = chunk.box.stop[1] - chunk.box.start[1]
    const w = chunk.box.stop[2] - chunk.box.start[2]
    const i = ((v[0] - chunk.box.start[0]) * h + (v[1] - chunk.box.start[1])) * w + (v[2] - chunk.box.start[2])
    const labels = chunk.labels?.image.data as Uint32Array | undefined
    const raw = chunk.raw?.image.data as Uint8Array | undefined
    return { label: labels ? this.table.labelOf(labels[i]) : null, raw: raw ? raw[i] : null }
  }

  /** Reads the segmentation again where an edit changed voxels (everywhere when box is absent). */
  reloadLabels(box?: { start: Vec3; stop: Vec3 }): Promise<void> {
    return this.store?.reloadLabels(box) ?? Promise.resolve()
  }

  /** Shows a triangle mesh of a segment in the 3D view; positions (x, y, z) in nm, voxel i at i x voxel size. */
  setSegmentMesh(id: number, positions: Float32Array, normals: Float32Array, indices: Uint32Array, rgb: [number, number, number]): void {
    this.removeSegmentMesh(id)
    const geometry = new BufferGeometry()
    geometry.setAttribute('position', new BufferAttribute(positions, 3))
    geometry.setAttribute('normal', new BufferAttribute(normals, 3))
    geometry.setIndex(new BufferAttribute(indices, 1))
    const material = new MeshLambertMaterial({ color: new Color().setRGB(rgb[0] / 255, rgb[1] / 255, rgb[2] / 255, 'srgb'), side: DoubleSide })
    const mesh = new Mesh(geometry, material)
    mesh.layers.set(LAYER['3d'])
    this.segmentMeshes.set(id, mesh)
    this.meshGroup.add(mesh)
    this.requestRender()
  }

  setSegmentMeshColor(id: number, rgb: [number, number, number]): void {
    const m = this.segmentMeshes.get(id)
    if (!m) return
    ;(m.material as MeshLambertMaterial).color.setRGB(rgb[0] / 255, rgb[1] / 255, rgb[2] / 255, 'srgb')
    this.requestRender()
  }

  removeSegmentMesh(id: number): void {
    const m = this.segmentMeshes.get(id)
    if (!m) return
    this.meshGroup.remove(m)
    m.geometry.dispose()
    ;(m.material as MeshLambertMaterial).dispose()
    this.segmentMeshes.delete(id)
    this.requestRender()
  }

  segmentMeshIds(): number[] {
    return [...this.segmentMeshes.keys()]
  }

  requestRender(): void {
    if (this.scheduled === 0) this.scheduled = requestAnimationFrame(() => this.render())
  }

  /** Resolves once every chunk the views asked for has arrived and been drawn. */
  whenIdle(): Promise<void> {
    return new Promise((resolve) => {
      this.idleWaiters.push(resolve)
      this.requestRender()
    })
  }

  /** Draws now (the benchmark measures this step); normally called from requestRender. */
  render(): void {
    if (this.scheduled !== 0) cancelAnimationFrame(this.scheduled)
    this.scheduled = 0
    this.frame++
    const r = this.renderer
    const canvasRect = this.canvas.getBoundingClientRect()
    const size = r.getSize(new Vector2())
    if (size.x !== Math.round(canvasRect.width) || size.y !== Math.round(canvasRect.height)) {
      r.setSize(Math.round(canvasRect.width), Math.round(canvasRect.height), false)
    }
    r.setScissorTest(false)
    r.setClearColor(GAP)
    r.clear()

    const rects = new Map<ViewId, Rect>()
    for (const [id, el] of this.panes) {
      const b = el.getBoundingClientRect()
      if (b.width < 1 || b.height < 1) continue
      rects.set(id, { x: b.left - canvasRect.left, y: b.top - canvasRect.top, width: b.width, height: b.height })
    }
    this.placeSlices(rects)

    r.setScissorTest(true)
    for (const [id, rect] of rects) {
      const y = canvasRect.height - rect.y - rect.height
      r.setViewport(rect.x, y, rect.width, rect.height)
      r.setScissor(rect.x, y, rect.width, rect.height)
      r.setClearColor(PANE_BACKGROUND)
      r.clear()
      if (!this.grid) continue
      if (id === '3d') {
        this.camera3d.aspect = rect.width / rect.height
        this.camera3d.updateProjectionMatrix()
        for (const v of SLICE_VIEWS) {
          if (this.settings.showSlicesIn3d) this.camera3d.layers.enable(LAYER[v])
          else this.camera3d.layers.disable(LAYER[v])
        }
        r.render(this.scene, this.camera3d)
      } else {
        r.render(this.scene, this.cameras[id])
      }
    }
    if (this.syncAfterRender) r.getContext().readPixels(0, 0, 1, 1, r.getContext().RGBA, r.getContext().UNSIGNED_BYTE, new Uint8Array(4))
    this.onRendered?.(this.frame)
    if (this.idleWaiters.length > 0 && (this.store?.pending ?? 0) === 0) {
      const waiters = this.idleWaiters
      this.idleWaiters = []
      for (const w of waiters) w()
    }
  }

  dispose(): void {
    if (this.scheduled !== 0) cancelAnimationFrame(this.scheduled)
    this.resizeObserver.disconnect()
    this.controls?.dispose()
    this.clearChunks()
    for (const id of this.segmentMeshes.keys()) this.removeSegmentMesh(id)
    this.table.dispose()
    this.renderer.dispose()
  }

  /** Cameras of the slice views, the chunks they need, and each chunk's plane at the current slice. */
  private placeSlices(rects: Map<ViewId, Rect>): void {
    if (!this.grid || !this.store) return
    const { position, scale } = this.settings
    const centre = toWorld(position, this.voxelSize)
    const now: Vec3[] = []
    const soon: Vec3[] = []
    for (const view of SLICE_VIEWS) {
      const rect = rects.get(view)
      const { n } = AXES[view]
      // The planes sit at the middle of the slice's voxels.
      const slice = Math.min(this.grid.shape[n] - 1, Math.max(0, Math.floor(position[n])))
      const depth = (slice + 0.5) * this.voxelSize[n]
      for (const [key, drawing] of this.drawings) {
        const chunk = this.store.chunks.get(key)
        const plane = drawing.planes[view]
        plane.visible = chunk !== undefined && chunk.box.start[n] <= slice && slice < chunk.box.stop[n]
        plane.position[COMPONENT[n]] = depth
      }
      if (!rect) continue
      this.placeCamera(view, rect, centre)
      const box = visibleBox(view, { position: [...position], scale, voxelSize: this.voxelSize }, rect.width, rect.height, this.grid.shape)
      if (!box) continue
      // Nearest the centre first; a view zoomed far out on a large volume shows its middle only
      // (there is no downsampled level to draw the rest from).
      const visible = this.grid.chunksIn(box, position).slice(0, MAX_CHUNKS_PER_VIEW)
      now.push(...visible)
      // Prefetch the neighbouring slabs, so scrolling through slices finds its data loaded.
      for (const c of visible) {
        for (const step of [1, -1]) {
          const next = this.grid.neighbour(c, n, step)
          if (next) soon.push(next)
        }
      }
    }
    this.store.want(now, soon, this.frame)
  }

  private placeCamera(view: SliceView, rect: Rect, centre: Vector3): void {
    const cam = this.cameras[view]
    const s = this.settings.scale
    cam.left = (-rect.width / 2) * s
    cam.right = (rect.width / 2) * s
    cam.top = (rect.height / 2) * s
    cam.bottom = (-rect.height / 2) * s
    const extent = this.grid ? toWorld(this.grid.shape, this.voxelSize).length() : 1
    cam.near = 0
    cam.far = 4 * extent + 1
    // Screen right and screen down along the view's axes (see geometry.ts).
    const forward = { xy: new Vector3(0, 0, 1), xz: new Vector3(0, -1, 0), yz: new Vector3(1, 0, 0) }[view]
    cam.up.copy(view === 'xy' ? new Vector3(0, -1, 0) : new Vector3(0, 0, -1))
    cam.position.copy(centre).addScaledVector(forward, -2 * extent - 1)
    cam.lookAt(centre)
    cam.updateProjectionMatrix()
  }

  private chunkReady(chunk: Chunk): void {
    if (!this.drawings.has(chunk.key)) {
      const material = new ShaderMaterial({
        glslVersion: GLSL3,
        vertexShader: sliceVertexShader,
        fragmentShader: sliceFragmentShader,
        defines: this.image?.info.dtype === 'float32' ? { RAW_FLOAT: '' } : {},
        side: DoubleSide,
        uniforms: {
          ...this.uniforms,
          raw: { value: chunk.raw ?? this.emptyTexture },
          labels: { value: chunk.labels ?? this.emptyLabels },
          origin: { value: new Vector3(chunk.box.start[2], chunk.box.start[1], chunk.box.start[0]) },
          size: {
            value: new Vector3(
              chunk.box.stop[2] - chunk.box.start[2],
              chunk.box.stop[1] - chunk.box.start[1],
              chunk.box.stop[0] - chunk.box.start[0],
            ),
          },
        },
      })
      const lo = toWorld(chunk.box.start, this.voxelSize)
      const hi = toWorld(chunk.box.stop, this.voxelSize)
      const mid = lo.clone().add(hi).multiplyScalar(0.5)
      const ext = hi.clone().sub(lo)
      const planes = {} as Record<SliceView, Mesh>
      for (const view of SLICE_VIEWS) {
        const plane = new Mesh(this.planeGeometry[view], material)
        const { n } = AXES[view]
        plane.scale.copy(ext)
        plane.scale[COMPONENT[n]] = 1
        plane.position.copy(mid)
        plane.layers.set(LAYER[view])
        this.scene.add(plane)
        planes[view] = plane
      }
      this.drawings.set(chunk.key, { material, planes })
    }
    this.requestRender()
  }

  private dropDrawing(key: ChunkKey): void {
    const d = this.drawings.get(key)
    if (!d) return
    for (const v of SLICE_VIEWS) this.scene.remove(d.planes[v])
    d.material.dispose()
    this.drawings.delete(key)
  }

  private clearChunks(): void {
    for (const key of [...this.drawings.keys()]) this.dropDrawing(key)
    this.store?.dispose()
    this.store = null
  }

  private setBounds(shape: Vec3): void {
    if (this.bounds) {
      this.scene.remove(this.bounds)
      this.bounds.geometry.dispose()
    }
    const ext = toWorld(shape, this.voxelSize)
    const box = new LineSegments(new EdgesGeometry(new BoxGeometry(ext.x, ext.y, ext.z)), new LineBasicMaterial({ color: 0x5a6373 }))
    box.position.copy(ext.clone().multiplyScalar(0.5))
    box.layers.set(LAYER['3d'])
    this.bounds = box
    this.scene.add(box)
  }

  /** Puts the 3D camera at an oblique angle that shows the whole volume around the crosshair. */
  private frame3d(): void {
    if (!this.grid) return
    const ext = toWorld(this.grid.shape, this.voxelSize)
    this.target3d.copy(toWorld(this.settings.position, this.voxelSize))
    const distance = ext.length() * 1.6
    this.camera3d.near = distance / 1000
    this.camera3d.far = distance * 20
    this.camera3d.position.copy(this.target3d).add(new Vector3(-0.45, -0.35, -0.82).normalize().multiplyScalar(distance))
    this.camera3d.lookAt(this.target3d)
    this.controls?.target.copy(this.target3d)
    this.controls?.update()
  }
}

/** A (z, y, x) voxel coordinate as a world position in nm. */
export function toWorld(v: Vec3, voxelSize: Vec3): Vector3 {
  return new Vector3(v[2] * voxelSize[2], v[1] * voxelSize[1], v[0] * voxelSize[0])
}
