/**
 * The part of the ONNX protobuf schema (onnx/onnx.proto, MIT license, ONNX Project Contributors)
 * that the builder writes: models, graphs, nodes, attributes, tensors (inline or external data)
 * and value infos. Field numbers are those of the official schema; messages and fields the
 * builder never writes are left out. protobufjs encodes it, so no bytes are written by hand.
 */
import protobuf from 'protobufjs'

const SCHEMA = `
syntax = "proto2";
package onnx;

message AttributeProto {
  enum AttributeType { UNDEFINED = 0; FLOAT = 1; INT = 2; STRING = 3; TENSOR = 4; GRAPH = 5; FLOATS = 6; INTS = 7; STRINGS = 8; }
  optional string name = 1;
  optional AttributeType type = 20;
  optional float f = 2;
  optional int64 i = 3;
  optional bytes s = 4;
  optional TensorProto t = 5;
  repeated float floats = 7;
  repeated int64 ints = 8;
  repeated bytes strings = 9;
}

message ValueInfoProto {
  optional string name = 1;
  optional TypeProto type = 2;
  optional string doc_string = 3;
}

message NodeProto {
  repeated string input = 1;
  repeated string output = 2;
  optional string name = 3;
  optional string op_type = 4;
  optional string domain = 7;
  repeated AttributeProto attribute = 5;
  optional string doc_string = 6;
}

message ModelProto {
  optional int64 ir_version = 1;
  repeated OperatorSetIdProto opset_import = 8;
  optional string producer_name = 2;
  optional string producer_version = 3;
  optional string domain = 4;
  optional int64 model_version = 5;
  optional string doc_string = 6;
  optional GraphProto graph = 7;
  repeated StringStringEntryProto metadata_props = 14;
}

message StringStringEntryProto {
  optional string key = 1;
  optional string value = 2;
}

message GraphProto {
  repeated NodeProto node = 1;
  optional string name = 2;
  repeated TensorProto initializer = 5;
  optional string doc_string = 10;
  repeated ValueInfoProto input = 11;
  repeated ValueInfoProto output = 12;
  repeated ValueInfoProto value_info = 13;
}

message TensorProto {
  repeated int64 dims = 1;
  optional int32 data_type = 2;
  optional string name = 8;
  optional string doc_string = 12;
  optional bytes raw_data = 9;
  repeated StringStringEntryProto external_data = 13;
  enum DataLocation { DEFAULT = 0; EXTERNAL = 1; }
  optional DataLocation data_location = 14;
}

message TensorShapeProto {
  message Dimension {
    oneof value {
      int64 dim_value = 1;
      string dim_param = 2;
    };
  };
  repeated Dimension dim = 1;
}

message TypeProto {
  message Tensor {
    optional int32 elem_type = 1;
    optional TensorShapeProto shape = 2;
  }
  oneof value {
    Tensor tensor_type = 1;
  }
}

message OperatorSetIdProto {
  optional string domain = 1;
  optional int64 version = 2;
}
`

/** TensorProto.DataType numbers of the element types the builder uses. */
export const ONNX_DTYPE = { float32: 1, uint8: 2, int32: 6, int64: 7, bool: 9 } as const

/** AttributeProto.AttributeType numbers. */
export const ATTR_TYPE = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, FLOATS: 6, INTS: 7 } as const

// Plain-object forms of the messages (protobufjs accepts numbers for int64 fields).
export interface TensorMsg {
  name: string
  dims: number[]
  data_type: number
  raw_data?: Uint8Array
  external_data?: { key: string; value: string }[]
  data_location?: number
}
export interface AttributeMsg {
  name: string
  type: number
  f?: number
  i?: number
  s?: Uint8Array
  t?: TensorMsg
  floats?: number[]
  ints?: number[]
}
export interface NodeMsg {
  input: string[]
  output: string[]
  name: string
  op_type: string
  domain?: string
  attribute: AttributeMsg[]
}
export interface ValueInfoMsg {
  name: string
  type: { tensor_type: { elem_type: number; shape: { dim: { dim_value: number }[] } } }
}
export interface GraphMsg {
  name: string
  node: NodeMsg[]
  initializer: TensorMsg[]
  input: ValueInfoMsg[]
  output: ValueInfoMsg[]
  value_info?: ValueInfoMsg[]
  doc_string?: string
}
export interface ModelMsg {
  ir_version: number
  opset_import: { domain: string; version: number }[]
  producer_name: string
  producer_version: string
  doc_string?: string
  graph: GraphMsg
  metadata_props: { key: string; value: string }[]
}

let modelType: protobuf.Type | null = null

function model(): protobuf.Type {
  modelType ??= protobuf.parse(SCHEMA, { keepCase: true }).root.lookupType('onnx.ModelProto')
  return modelType
}

export function encodeModel(msg: ModelMsg): Uint8Array {
  const type = model()
  return type.encode(type.fromObject(msg)).finish()
}

/** Decodes a model (used by tests and by tools that read back what was written). */
export function decodeModel(bytes: Uint8Array): ModelMsg {
  const type = model()
  return type.toObject(type.decode(bytes), { longs: Number, defaults: false, arrays: true }) as ModelMsg
}
