/**
 * Segmentation: affinities -> fragments -> region graph -> merge history -> segments at any
 * threshold; seeded split, connected components, relabelling, meshes, metrics. The voxel work is
 * native C++ (native/src, one worker thread per call); this is its typed, validated face.
 */
export type { Affinities, AffinityArray, LabelArray, LabelType, LabelVolume } from './types'
export { computeFragments, type FragmentMode, type FragmentOptions, type Fragments } from './fragments'
export { buildRegionGraph, nodeOf, type RegionGraph } from './graph'
export { agglomerate, MergeHistory, type Scoring } from './agglomerate'
export { DEFAULT_THRESHOLD, Segmentation, type SegmentOptions } from './segmentation'
export type { SplitResult } from './split'
export { connectedComponents, mapLabels, relabel, uniqueLabels } from './labels'
export { meshSegment, type MeshOptions, type SegmentMesh } from './mesh'
export { evaluate, type Evaluation, type SegmentError } from './metrics'
export { asLabelArray } from './validate'
