/**
 * Every keyboard binding goes through here: one table of actions with default keys (bindings.ts),
 * the user's changes (kept in localStorage), and one keydown listener that runs the first action
 * bound to the pressed combination whose condition holds (so ',' can step a slice, or shrink the
 * brush while the brush is active).
 */
import { reactive } from 'vue'
import { BINDINGS, type BindingSpec } from './bindings'

const STORAGE_KEY = 'tokenunify.keymap'

export interface ActionHandler {
  run(e: KeyboardEvent): void
  /** When false, the keys fall through to the next action bound to them. */
  when?: () => boolean
}

/**
 * The combination of a key event as it is written in bindings: 'Ctrl+Shift+Z', 'Shift+F', 'Space',
 * '?', ','. Cmd counts as Ctrl. Shift is named for letters and named keys only, since for other
 * characters it is already in the character ('?' is Shift+/).
 */
export function comboOf(e: Pick<KeyboardEvent, 'key' | 'ctrlKey' | 'metaKey' | 'altKey' | 'shiftKey'>): string {
  let key = e.key === ' ' ? 'Space' : e.key
  const letter = /^[a-z]$/i.test(key)
  const parts: string[] = []
  if (e.ctrlKey || e.metaKey) parts.push('Ctrl')
  if (e.altKey) parts.push('Alt')
  if (e.shiftKey && (letter || key.length > 1)) parts.push('Shift')
  if (letter) key = key.toUpperCase()
  parts.push(key)
  return parts.join('+')
}

/** Fields that take keys themselves (text, numbers, sliders, lists); checkboxes and buttons do not. */
function typing(t: EventTarget | null): boolean {
  if (t instanceof HTMLInputElement) return !['checkbox', 'radio', 'button', 'submit'].includes(t.type)
  return t instanceof HTMLTextAreaElement || t instanceof HTMLSelectElement
}

const MODIFIERS = new Set(['Control', 'Shift', 'Alt', 'Meta'])

export function isModifierOnly(e: KeyboardEvent): boolean {
  return MODIFIERS.has(e.key)
}

function loadOverrides(): Record<string, string[]> {
  try {
    const parsed: unknown = JSON.parse(localStorage.getItem(STORAGE_KEY) ?? '{}')
    return parsed !== null && typeof parsed === 'object' ? (parsed as Record<string, string[]>) : {}
  } catch {
    return {}
  }
}

class Keymap {
  /** Current keys of every action (defaults with the user's changes), reactive for the help overlay. */
  readonly keys: Record<string, string[]> = reactive({})
  private readonly handlers = new Map<string, ActionHandler>()

  constructor(readonly specs: readonly BindingSpec[]) {
    const overrides = loadOverrides()
    for (const s of specs) this.keys[s.action] = overrides[s.action] ?? [...s.keys]
  }

  /** Connects an action to what it does; returns the disconnect. */
  register(action: string, handler: ActionHandler): () => void {
    if (!this.specs.some((s) => s.action === action)) throw new Error(`keymap: no binding named ${action}`)
    this.handlers.set(action, handler)
    return () => {
      if (this.handlers.get(action) === handler) this.handlers.delete(action)
    }
  }

  /** Runs the action bound to this key event, if any; true when one ran. */
  handle(e: KeyboardEvent): boolean {
    if (typing(e.target)) return false
    if (isModifierOnly(e)) return false
    const combo = comboOf(e)
    for (const spec of this.specs) {
      if (!this.keys[spec.action].includes(combo)) continue
      const h = this.handlers.get(spec.action)
      if (!h || (h.when && !h.when())) continue
      e.preventDefault()
      h.run(e)
      return true
    }
    return false
  }

  /** Runs an action by name as if its key were pressed (toolbar buttons). */
  run(action: string): void {
    const h = this.handlers.get(action)
    if (h && (!h.when || h.when())) h.run(new KeyboardEvent('keydown'))
  }

  rebind(action: string, keys: string[]): void {
    this.keys[action] = keys
    this.save()
  }

  reset(): void {
    for (const s of this.specs) this.keys[s.action] = [...s.keys]
    localStorage.removeItem(STORAGE_KEY)
  }

  /** Other actions that already use `combo`. */
  conflicts(action: string, combo: string): string[] {
    return this.specs.filter((s) => s.action !== action && this.keys[s.action].includes(combo)).map((s) => s.label)
  }

  private save(): void {
    const changed: Record<string, string[]> = {}
    for (const s of this.specs) if (this.keys[s.action].join() !== s.keys.join()) changed[s.action] = this.keys[s.action]
    localStorage.setItem(STORAGE_KEY, JSON.stringify(changed))
  }
}

export const keymap = new Keymap(BINDINGS)
