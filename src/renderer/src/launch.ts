/**
 * Getting to something to look at: what the engine already has open (after a page reload, or
 * `tokenunify serve <project>`), what the OS asked to open ('app.launch', 'app.open'), the demo
 * on a first run, and a project's own volumes.
 */
import type { OpenTarget } from '../../shared/api/app'
import { api } from './api'
import { useAppStore } from './stores/app'
import { useJobsStore } from './stores/jobs'
import { useNoticesStore } from './stores/notices'
import { useProjectStore } from './stores/project'
import { useSegmentationStore } from './stores/segmentation'
import { useVolumesStore } from './stores/volumes'

/** Opens the demo (in `dir` when given); a demo folder made before is opened as a project. */
export async function openDemo(dir?: string): Promise<void> {
  const project = useProjectStore()
  const volumes = useVolumesStore()
  try {
    const demo = await api.call('demo.open', dir === undefined ? {} : { dir })
    await volumes.refresh()
    await project.attach()
    await useSegmentationStore().refresh()
    await volumes.show(demo.image.id, demo.labels.id)
    useNoticesStore().info(`demo project in ${demo.project.dir}`)
  } catch (err) {
    if (dir === undefined || (err as { code?: string }).code !== 'conflict') throw err
    await openProject(dir)
  }
}

/** Opens a project folder with its volumes and segmentation. */
export async function openProject(dir: string, create = false): Promise<void> {
  const project = useProjectStore()
  await project.openDir(dir, create)
  await showProject()
}

/** Opens what the OS or the command line asked for. */
export async function openTarget(target: OpenTarget): Promise<void> {
  try {
    if (target.kind === 'project') await openProject(target.path)
    else await useVolumesStore().showOpened(await api.call('volume.open', { path: target.path }))
  } catch (err) {
    useNoticesStore().error(`${target.path}: ${(err as Error).message}`)
  }
}

/**
 * The open project's image (its 'raw' source, unless an image is open already) and its
 * segmentation's fragments, shown together.
 */
async function showProject(): Promise<void> {
  const project = useProjectStore()
  const volumes = useVolumesStore()
  await volumes.refresh()
  if (project.info && volumes.images.length === 0) {
    for (const source of project.info.sources) {
      if (source.role !== 'raw' || source.status !== 'ok') continue
      await api.call('volume.open', { path: source.path, ...(source.dataset === undefined ? {} : { dataset: source.dataset }) })
    }
    await volumes.refresh()
  }
  await volumes.showDefault()
  await useSegmentationStore().refresh()
}

/** After a start or a page reload. */
export async function boot(): Promise<void> {
  const app = useAppStore()
  const project = useProjectStore()
  await Promise.all([app.load(), useJobsStore().load()])
  const launch = await api.call('app.launch', {}).catch(() => null)
  await project.attach()
  for (const target of launch?.open ?? []) await openTarget(target)
  if (launch?.firstRun && !project.open && (await api.call('volume.list', {})).length === 0) {
    await openDemo(launch.demoProject).catch((err: Error) => useNoticesStore().error(`demo: ${err.message}`))
  }
  await showProject()
  api.on('app.open', (target) => void openTarget(target))
}
