/**
 * The one shader of the slice views: a chunk's raw 3D texture with contrast, blended with its
 * segmentation, whose dense label numbers are coloured through the lookup texture (labelTable.ts).
 * It samples at the fragment's world position (nm), so the same material draws the chunk in the
 * XY, XZ and YZ planes and in the 3D view.
 */

export const sliceVertexShader = /* glsl */ `
out vec3 vWorld;
void main() {
  vec4 world = modelMatrix * vec4(position, 1.0);
  vWorld = world.xyz;
  gl_Position = projectionMatrix * viewMatrix * world;
}
`

export const sliceFragmentShader = /* glsl */ `
#ifdef RAW_FLOAT
uniform sampler3D raw;
#else
uniform usampler3D raw;
#endif
uniform usampler3D labels;
uniform sampler2D lut;
uniform vec3 voxelSize;   // nm per voxel, (x, y, z)
uniform vec3 origin;      // first voxel of the chunk, (x, y, z)
uniform vec3 size;        // voxels in the chunk, (x, y, z)
uniform vec2 window;      // raw values shown as black and as white
uniform float opacity;
uniform float selectedOpacity;
uniform bool hasRaw;
uniform bool hasLabels;
in vec3 vWorld;
out vec4 fragColor;

void main() {
  ivec3 n = ivec3(size);
  ivec3 i = clamp(ivec3(floor(vWorld / voxelSize - origin)), ivec3(0), n - 1);
  vec3 color = vec3(0.0);
  if (hasRaw) {
    float value = float(texelFetch(raw, i, 0).r);
    color = vec3(clamp((value - window.x) / max(window.y - window.x, 1e-6), 0.0, 1.0));
  }
  if (hasLabels) {
    uint index = texelFetch(labels, i, 0).r;
    vec4 style = texelFetch(lut, ivec2(int(index % 4096u), int(index / 4096u)), 0);
    int flags = int(style.a * 255.0 + 0.5);
    if ((flags & 1) != 0) {
      float alpha = (flags & 2) != 0 ? selectedOpacity : opacity;
      vec3 c = style.rgb;
      if ((flags & 4) != 0) {
        c = mix(c, vec3(1.0), 0.3);
        alpha = min(1.0, alpha + 0.15);
      }
      if ((flags & 8) != 0 && mod(gl_FragCoord.x + gl_FragCoord.y, 10.0) < 3.0) {
        c = vec3(1.0);
        alpha = 0.9;
      }
      color = hasRaw ? mix(color, c, alpha) : c * alpha;
    }
  }
  fragColor = vec4(color, 1.0);
}
`
