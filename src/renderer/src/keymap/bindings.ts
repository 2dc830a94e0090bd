/**
 * Default key bindings, after ../shared/design/INTERACTION.md (Neuroglancer where tools differ).
 * Order matters where keys are shared: the first action whose condition holds wins.
 */

export interface BindingSpec {
  action: string
  label: string
  group: 'Navigation' | 'View' | 'Segments' | 'Editing' | 'General'
  keys: string[]
}

export const BINDINGS: readonly BindingSpec[] = [
  { action: 'brush.smaller', label: 'Smaller brush (brush or eraser active)', group: 'Editing', keys: [','] },
  { action: 'brush.bigger', label: 'Bigger brush (brush or eraser active)', group: 'Editing', keys: ['.'] },
  { action: 'slice.prev', label: 'Previous slice', group: 'Navigation', keys: [','] },
  { action: 'slice.next', label: 'Next slice', group: 'Navigation', keys: ['.'] },
  { action: 'move.left', label: 'Move left', group: 'Navigation', keys: ['ArrowLeft'] },
  { action: 'move.right', label: 'Move right', group: 'Navigation', keys: ['ArrowRight'] },
  { action: 'move.up', label: 'Move up', group: 'Navigation', keys: ['ArrowUp'] },
  { action: 'move.down', label: 'Move down', group: 'Navigation', keys: ['ArrowDown'] },
  { action: 'zoom.in', label: 'Zoom in', group: 'Navigation', keys: ['Ctrl+=', 'Ctrl++'] },
  { action: 'zoom.out', label: 'Zoom out', group: 'Navigation', keys: ['Ctrl+-'] },
  { action: 'layout.toggle', label: 'Four panes / single view', group: 'View', keys: ['Space'] },
  { action: 'layout.xy', label: 'Maximise XY (looking along z)', group: 'View', keys: ['Z'] },
  { action: 'layout.xz', label: 'Maximise XZ (looking along y)', group: 'View', keys: ['Y'] },
  { action: 'layout.yz', label: 'Maximise YZ (looking along x)', group: 'View', keys: ['X'] },
  { action: 'layer.image', label: 'Show / hide the image layer', group: 'View', keys: ['1'] },
  { action: 'layer.segmentation', label: 'Show / hide the segmentation layer', group: 'View', keys: ['2'] },
  { action: 'selection.clear', label: 'Clear selection', group: 'Segments', keys: ['Shift+X'] },
  { action: 'colors.shuffle', label: 'Recolour segments', group: 'Segments', keys: ['L'] },
  { action: 'bookmark.add', label: 'Bookmark this position (with a note)', group: 'Segments', keys: ['K'] },
  { action: 'tool.merge', label: 'Merge mode (Ctrl+click source, then target)', group: 'Editing', keys: ['M'] },
  { action: 'tool.split', label: 'Split mode (Ctrl+click red seed, Ctrl+Shift+click blue seed)', group: 'Editing', keys: ['S'] },
  { action: 'split.swap', label: 'Swap red and blue seed groups', group: 'Editing', keys: ['G'] },
  { action: 'tool.brush', label: 'Paint brush (drag paints the selected segment)', group: 'Editing', keys: ['B'] },
  { action: 'tool.eraser', label: 'Eraser (drag erases)', group: 'Editing', keys: ['E'] },
  { action: 'fill.2d', label: 'Fill in this slice with the selected segment', group: 'Editing', keys: ['F'] },
  { action: 'fill.3d', label: 'Fill in 3D with the selected segment', group: 'Editing', keys: ['Shift+F'] },
  { action: 'edit.commit', label: 'Commit queued merges / the split', group: 'Editing', keys: ['Enter'] },
  { action: 'edit.cancel', label: 'Cancel, back to select', group: 'Editing', keys: ['Escape'] },
  { action: 'review.mark', label: 'Mark selected segments reviewed', group: 'Editing', keys: ['R'] },
  { action: 'lock.toggle', label: 'Lock selected segments (without review)', group: 'Editing', keys: ['Shift+L'] },
  { action: 'edit.undo', label: 'Undo', group: 'Editing', keys: ['Ctrl+Z'] },
  { action: 'edit.redo', label: 'Redo', group: 'Editing', keys: ['Ctrl+Shift+Z', 'Ctrl+Y'] },
  { action: 'train.show', label: 'Fine-tune on my corrections', group: 'General', keys: ['Ctrl+T'] },
  { action: 'help.toggle', label: 'Show / hide this help', group: 'General', keys: ['H', '?'] },
]

/** Mouse gestures: fixed, listed in the help overlay with the keys. */
export const MOUSE_BINDINGS: ReadonlyArray<{ input: string; label: string }> = [
  { input: 'Wheel', label: 'Next / previous slice' },
  { input: 'Shift+Wheel', label: '10 slices (brush size while the brush is active)' },
  { input: 'Ctrl+Wheel', label: 'Zoom' },
  { input: 'Drag', label: 'Pan (2D), rotate (3D)' },
  { input: 'Shift+Drag', label: 'Pan (3D)' },
  { input: 'Right-click', label: 'Move every view to the point' },
  { input: 'Double-click', label: 'Select / deselect the segment' },
  { input: 'Shift+Double-click', label: 'Bookmark the segment' },
  { input: 'Ctrl+Click', label: 'Merge mode: source, then target. Split mode: red seed' },
  { input: 'Ctrl+Shift+Click', label: 'Split mode: blue seed' },
]
