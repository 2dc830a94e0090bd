/**
 * Every parameter of the network for a config: the official `SegMamba.state_dict()` key names,
 * shapes and order (../shared/design/TOKENUNIFY.md appendices A and B). There are no buffers.
 */
import { dtRank, type NetworkConfig } from './config'

export interface ParamSpec {
  name: string
  shape: number[]
}

export function paramSpecs(config: NetworkConfig): ParamSpec[] {
  const specs: ParamSpec[] = []
  const add = (name: string, ...shape: number[]) => specs.push({ name, shape })
  const C = config.featSize
  const [kz, ky, kx] = config.kernelSize

  // MambaEncoder: the stem, then IN + a (1,2,2) stride-2 conv per later stage.
  add('vit.downsample_layers.0.0.weight', C[0], config.inChannels, 1, 7, 7)
  add('vit.downsample_layers.0.0.bias', C[0])
  for (let i = 1; i < 4; i++) {
    add(`vit.downsample_layers.${i}.1.weight`, C[i], C[i - 1], 1, 2, 2)
    add(`vit.downsample_layers.${i}.1.bias`, C[i])
  }
  for (let i = 0; i < 4; i++) {
    const di = config.expand * C[i]
    const r = dtRank(C[i])
    for (let j = 0; j < config.depths[i]; j++) {
      const p = `vit.stages.${i}.${j}`
      add(`${p}.norm.weight`, C[i])
      add(`${p}.norm.bias`, C[i])
      for (const s of ['', '_b', '_s']) {
        add(`${p}.mamba.A${s}_log`, di, config.dState)
        add(`${p}.mamba.D${s}`, di)
      }
      add(`${p}.mamba.in_proj.weight`, 2 * di, C[i])
      for (const s of ['', '_b', '_s']) {
        add(`${p}.mamba.conv1d${s}.weight`, di, 1, config.dConv)
        add(`${p}.mamba.conv1d${s}.bias`, di)
        add(`${p}.mamba.x_proj${s}.weight`, r + 2 * config.dState, di)
        add(`${p}.mamba.dt_proj${s}.weight`, di, r)
        add(`${p}.mamba.dt_proj${s}.bias`, di)
      }
      add(`${p}.mamba.out_proj.weight`, C[i], di)
    }
  }
  for (let i = 0; i < 4; i++) {
    for (const [conv, k] of [['proj', 3], ['proj2', 3], ['proj3', 1], ['proj4', 1]] as const) {
      add(`vit.gscs.${i}.${conv}.weight`, C[i], C[i], k, k, k)
      add(`vit.gscs.${i}.${conv}.bias`, C[i])
    }
  }
  for (let i = 0; i < 4; i++) {
    add(`vit.mlps.${i}.fc1.weight`, 2 * C[i], C[i], 1, 1, 1)
    add(`vit.mlps.${i}.fc1.bias`, 2 * C[i])
    add(`vit.mlps.${i}.fc2.weight`, C[i], 2 * C[i], 1, 1, 1)
    add(`vit.mlps.${i}.fc2.bias`, C[i])
  }

  // MONAI UnetResBlock: conv1, conv2, and the 1x1x1 shortcut conv3 only when in != out.
  const resBlock = (p: string, cin: number, cout: number) => {
    add(`${p}.conv1.conv.weight`, cout, cin, kz, ky, kx)
    add(`${p}.conv2.conv.weight`, cout, cout, kz, ky, kx)
    if (cin !== cout) add(`${p}.conv3.conv.weight`, cout, cin, 1, 1, 1)
  }
  const encoderIn = [config.inChannels, C[0], C[1], C[2], C[3]]
  const encoderOut = [C[0], C[1], C[2], C[3], config.hiddenSize]
  for (let n = 1; n <= 5; n++) resBlock(`encoder${n}.layer`, encoderIn[n - 1], encoderOut[n - 1])
  // decoderN: ConvTranspose (k=2, s=2) from the deeper level, concat with the skip, res block.
  const decoderIn = [C[0], C[1], C[2], C[3], config.hiddenSize]
  for (let n = 5; n >= 2; n--) {
    const cin = decoderIn[n - 1]
    const cout = C[n - 2]
    add(`decoder${n}.transp_conv.conv.weight`, cin, cout, 2, 2, 2)
    resBlock(`decoder${n}.conv_block`, 2 * cout, cout)
  }
  resBlock('decoder1.layer', C[0], C[0])
  add('out.conv.conv.weight', config.outChannels, C[0], 1, 1, 1)
  add('out.conv.conv.bias', config.outChannels)
  return specs
}

export function countParams(specs: ParamSpec[]): number {
  return specs.reduce((sum, s) => sum + s.shape.reduce((a, b) => a * b, 1), 0)
}
