"""The reference for bench/segment: scikit-image's watershed on the same affinities.

  /usr/bin/python3 skimage_watershed.py affs.npy  ->  prints JSON {seconds, cpu_seconds, fragments}

Per z-slice, as the official evaluation makes fragments: boundary = 1 - (aff_y + aff_x) / 2,
markers = labelled regional maxima of the distance transform of (boundary < 0.5), then
skimage.segmentation.watershed(boundary, markers). Only the watershed calls are timed; the
markers are prepared untimed, so this is scikit-image's watershed alone.
"""
import json
import sys
import time

import numpy as np
from scipy import ndimage
from skimage.morphology import local_maxima
from skimage.segmentation import watershed

affs = np.load(sys.argv[1], mmap_mode="r")
seconds = cpu = 0.0
fragments = 0
for z in range(affs.shape[1]):
    ay = affs[1, z].astype(np.float32) / 255 if affs.dtype == np.uint8 else affs[1, z]
    ax = affs[2, z].astype(np.float32) / 255 if affs.dtype == np.uint8 else affs[2, z]
    boundary = 1.0 - 0.5 * (ay + ax)
    distance = ndimage.distance_transform_edt(boundary < 0.5)
    markers, n = ndimage.label(local_maxima(distance, connectivity=1) & (distance > 0))
    t, c = time.perf_counter(), time.process_time()
    watershed(boundary, markers)
    seconds += time.perf_counter() - t
    cpu += time.process_time() - c
    fragments += n
print(json.dumps({"seconds": seconds, "cpu_seconds": cpu, "fragments": fragments}))
