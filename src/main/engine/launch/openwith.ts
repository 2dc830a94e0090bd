/**
 * What the operating system asks the app to open: "Open with", a double-click on an associated
 * file, a drop on the Dock icon, or a path on the command line. electron-builder.yml registers the
 * same extensions (test/package checks that they agree). Plain Node, no Electron.
 */
import { existsSync, statSync } from 'node:fs'
import { dirname, extname, join, resolve } from 'node:path'
import type { OpenTarget } from '../../../shared/api/app'

/** A small marker file inside a project folder; opening it opens its folder. */
export const PROJECT_EXTENSION = 'tuproj'
/** EM volume files (a .zarr is usually a folder, sometimes a zip store). */
export const VOLUME_EXTENSIONS = ['h5', 'hdf', 'tif', 'tiff', 'zarr']

/** How to open a path: a project (marker file or folder with project.sqlite) or a volume; undefined if neither. */
export function openTarget(path: string): OpenTarget | undefined {
  if (!existsSync(path)) return undefined
  const ext = extname(path).slice(1).toLowerCase()
  const isDir = statSync(path).isDirectory()
  if (!isDir && ext === PROJECT_EXTENSION) return { kind: 'project', path: dirname(path) }
  if (isDir && existsSync(join(path, 'project.sqlite'))) return { kind: 'project', path }
  // Any other folder may be a Zarr/N5 store or a folder of slices: the engine's probe decides.
  if (isDir || VOLUME_EXTENSIONS.includes(ext)) return { kind: 'volume', path }
  return undefined
}

/**
 * The paths in a command line (Windows and Linux pass "Open with" files as arguments). `args` are
 * the arguments after the executable (and after the app folder when run as `electron .`);
 * switches are skipped, relative paths resolve against `cwd`.
 */
export function openTargetsFromArgs(args: readonly string[], cwd: string): OpenTarget[] {
  return args
    .filter((a) => !a.startsWith('-'))
    .map((a) => openTarget(resolve(cwd, a)))
    .filter((t): t is OpenTarget => t !== undefined)
}
