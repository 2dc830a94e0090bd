/** What each bound action does: the one place that connects keys to the stores and the editor. */
import { VIEW_ALONG } from '../render/geometry'
import { useAppStore } from '../stores/app'
import { useSegmentsStore } from '../stores/segments'
import { useToolsStore } from '../stores/tools'
import { useTrainingStore } from '../stores/training'
import { useViewStore } from '../stores/view'
import { useEditor } from '../tools/editor'
import { keymap, type ActionHandler } from './keymap'

export function registerActions(): () => void {
  const app = useAppStore()
  const view = useViewStore()
  const segments = useSegmentsStore()
  const tools = useToolsStore()
  const editor = useEditor()
  const hasSelection = () => segments.selected.length > 0

  const actions: Record<string, ActionHandler> = {
    'brush.smaller': { when: () => tools.painting, run: () => tools.resizeBrush(-1) },
    'brush.bigger': { when: () => tools.painting, run: () => tools.resizeBrush(1) },
    'slice.prev': { run: () => view.stepSlice(view.activeView, -1) },
    'slice.next': { run: () => view.stepSlice(view.activeView, 1) },
    'move.left': { run: () => view.pan(view.activeView, -1, 0) },
    'move.right': { run: () => view.pan(view.activeView, 1, 0) },
    'move.up': { run: () => view.pan(view.activeView, 0, -1) },
    'move.down': { run: () => view.pan(view.activeView, 0, 1) },
    'zoom.in': { run: () => view.zoom(1 / 1.25) },
    'zoom.out': { run: () => view.zoom(1.25) },
    'layout.toggle': { run: () => (view.layout = view.layout === 'four' ? view.activeView : 'four') },
    'layout.xy': { when: () => !tools.pending, run: () => view.toggleLayout(VIEW_ALONG.z) },
    'layout.xz': { when: () => !tools.pending, run: () => view.toggleLayout(VIEW_ALONG.y) },
    'layout.yz': { when: () => !tools.pending, run: () => view.toggleLayout(VIEW_ALONG.x) },
    'layer.image': { run: () => (view.showImage = !view.showImage) },
    'layer.segmentation': { run: () => (view.showSegmentation = !view.showSegmentation) },
    'selection.clear': { run: () => segments.clear() },
    'colors.shuffle': { run: () => segments.shuffleColors() },
    'bookmark.add': { run: () => void editor.bookmark(view.slice, segments.selected[0] ?? null) },
    'tool.merge': { run: () => editor.useTool('merge') },
    'tool.split': { run: () => editor.useTool('split') },
    'split.swap': { when: () => tools.tool === 'split', run: () => editor.swapSeeds() },
    'tool.brush': { run: () => editor.useTool('brush') },
    'tool.eraser': { run: () => editor.useTool('eraser') },
    'fill.2d': { when: hasSelection, run: () => void editor.fill(false) },
    'fill.3d': { when: hasSelection, run: () => void editor.fill(true) },
    'edit.commit': { when: () => tools.pending, run: () => void editor.commit() },
    'edit.cancel': {
      run: () => {
        if (app.helpOpen) app.helpOpen = false
        else if (tools.pending) editor.cancel()
        else editor.useTool('select')
      },
    },
    'review.mark': { when: hasSelection, run: () => void editor.review() },
    'lock.toggle': { when: hasSelection, run: () => void editor.lock() },
    'edit.undo': { run: () => void editor.undo() },
    'edit.redo': { run: () => void editor.redo() },
    'help.toggle': { run: () => (app.helpOpen = !app.helpOpen) },
    'train.show': { run: () => useTrainingStore().shown++ },
  }
  const off = Object.entries(actions).map(([name, handler]) => keymap.register(name, handler))
  return () => off.forEach((f) => f())
}
