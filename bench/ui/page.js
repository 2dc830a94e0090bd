/* global window, document, requestAnimationFrame, WheelEvent */
// Measurements that run inside the app page (evaluated by bench/ui/index.ts through the
// DevTools protocol). They drive the real UI: wheel events on a pane, store changes.
window.__bench = (() => {
  const studio = () => window.__studio
  const frame = () => new Promise((resolve) => requestAnimationFrame(() => resolve()))
  const rendered = () => new Promise((resolve) => (studio().viewer.onRendered = () => resolve()))

  /** An empty requestAnimationFrame round trip: the reference every other number is divided by. */
  async function rafRoundTrip(n) {
    const out = []
    for (let i = 0; i < n; i++) {
      const t0 = performance.now()
      await frame()
      out.push(performance.now() - t0)
    }
    return out
  }

  /** Loads every slice once so that timing sees the steady state of a user scrolling. */
  async function warm(view, slices) {
    const s = studio()
    const n = { xy: 0, xz: 1, yz: 2 }[view]
    for (let z = 0; z < slices; z += 4) {
      const p = [...s.view.position]
      p[n] = z + 0.5
      s.view.moveTo(p)
      await s.viewer.whenIdle()
    }
  }

  /** Wheel event on the pane → slice changes → the frame is drawn and finished on the GPU. */
  async function sliceChange(view, n, slices) {
    const s = studio()
    const pane = document.querySelector(`[data-testid="pane-${view}"]`)
    const r = pane.getBoundingClientRect()
    s.viewer.syncAfterRender = true
    const out = []
    let dir = 1
    const axis = { xy: 0, xz: 1, yz: 2 }[view]
    for (let i = 0; i < n; i++) {
      const slice = Math.floor(s.view.position[axis])
      if (slice + dir < 0 || slice + dir >= slices) dir = -dir
      await frame()
      const done = rendered()
      const t0 = performance.now()
      pane.dispatchEvent(new WheelEvent('wheel', { deltaY: 100 * dir, bubbles: true, cancelable: true, clientX: r.x + r.width / 2, clientY: r.y + r.height / 2 }))
      await done
      out.push(performance.now() - t0)
    }
    if (s.viewer.pending !== 0) throw new Error('chunks were still loading while timing slice changes')
    return out
  }

  /** The drawing alone: Viewer.render() with the GPU finished (one-pixel readback). */
  async function renderOnly(n) {
    const s = studio()
    s.viewer.syncAfterRender = true
    const out = []
    for (let i = 0; i < n; i++) {
      await frame()
      const t0 = performance.now()
      s.viewer.render()
      out.push(performance.now() - t0)
    }
    return out
  }

  /** What a merge does to the views: two labels now share a segment (the lookup table only). */
  async function recolour(n) {
    const s = studio()
    const out = []
    for (let i = 0; i < n; i++) {
      await frame()
      const done = rendered()
      const t0 = performance.now()
      s.segments.reassign([2 * i + 2], [2 * i + 1])
      await done
      out.push(performance.now() - t0)
    }
    return out
  }

  /**
   * A real merge: the merge queue committed (Enter) → 'project.merge' in the engine's SQLite store →
   * the 'project.changed' event → the new fragments of the kept segment → the first frame drawn
   * with them.
   */
  async function merge(pairs) {
    const s = studio()
    s.viewer.syncAfterRender = true
    const out = []
    for (const [keep, absorb] of pairs) {
      await frame()
      const shown = new Promise((resolve) => {
        s.viewer.onRendered = () => {
          if (s.segments.segmentOf(absorb) === keep) resolve(performance.now())
        }
      })
      const t0 = performance.now()
      s.tools.use('merge')
      s.tools.merges = [[absorb, keep]]
      await s.editor.commit()
      if (s.notices.current?.kind === 'error') throw new Error(s.notices.current.text)
      out.push((await shown) - t0)
      s.tools.use('select')
    }
    return out
  }

  return { rafRoundTrip, warm, sliceChange, renderOnly, recolour, merge, rendered, frame }
})()
