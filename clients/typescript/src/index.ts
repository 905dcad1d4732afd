// SPDX-License-Identifier: Apache-2.0
// @aimass/client: a client of aimass's HTTP frontend for Node 18+ and browsers.

export { Client, type ClientOptions, type InferOptions, type Inputs, type Version } from "./client.js";
export {
  type EncodeOptions, type EncodedRequest, InferResult, decodeInferResponse, encodeInferRequest,
} from "./codec.js";
export {
  DATATYPES, type Datatype, type NumericArray, bfloatToFloat, floatToBfloat, floatToHalf,
  halfToFloat,
} from "./datatypes.js";
export { AimassError, AimassTimeoutError } from "./errors.js";
export {
  type Job, type JobLogChunk, type JobQuery, type JobQueue, type JobResources, type JobSchedule, type JobState,
  type JobSubmission, type Overlap, type QueueUpdate, type ScheduleOptions, jobEnded, jobRequest,
  scheduleRequest,
} from "./jobs.js";
export { type InferOutput, type OutputData } from "./outputs.js";
export {
  type Element, type FlatTensor, type NestedArray, type Tensor, type TensorData, flatTensor,
} from "./tensors.js";
export { type CallOptions, DEFAULT_RETRY, type RetryPolicy, type TransportOptions } from "./transport.js";
export type * from "./types.js";
