// SPDX-License-Identifier: Apache-2.0
// Typed answers of the metadata and /api/v1 routes (docs/openapi.yaml). They are the server's
// JSON as it comes, member names included; members added to the API later are there too.

import type { Datatype } from "./datatypes.js";

/** GET /v2. */
export interface ServerMetadata {
  name: string;
  version: string;
  extensions: string[];
}

/** An input or output of a model. */
export interface TensorMetadata {
  name: string;
  datatype: Datatype;
  /** -1 for a dimension of any size. */
  shape: number[];
  /** True on an input a request may leave out. */
  optional?: boolean;
  columns?: string[];
}

/** GET /v2/models/{model}[/versions/{v}]. */
export interface ModelMetadata {
  name: string;
  versions?: string[];
  platform: string;
  inputs: TensorMetadata[];
  outputs: TensorMetadata[];
  parameters?: Record<string, unknown>;
}

/** A metric that was never finite is null. */
export type Metrics = Record<string, number | null>;

export interface ModelSummary {
  model: string;
  versions: number;
  /** 0 when the model has only aliases. */
  latest: number;
  aliases: Record<string, number>;
}

export interface ModelVersion {
  model: string;
  version: number;
  artifact: string;
  sha256: string;
  node: string;
  type: string;
  dataset?: string;
  dataset_name?: string;
  dataset_version?: number;
  dataset_sha256?: string;
  code_version?: string;
  created_by?: string;
  created_unix_ms: number;
  metrics: Metrics;
  tags: Record<string, string>;
  aliases: string[];
  parent?: string;
}

export interface RegisteredModel {
  model: string;
  aliases: Record<string, number>;
  versions: ModelVersion[];
}

export interface ModelAlias {
  model: string;
  alias: string;
  version: number;
  /** Earlier targets, oldest first. */
  history: number[];
}

export interface DatasetVersion {
  name: string;
  version: number;
  type: string;
  source?: string;
  sha256: string;
  rows: number;
  fingerprint?: string;
  created_by?: string;
  created_unix_ms: number;
}

export interface DatasetSummary {
  name: string;
  versions: number;
  latest: DatasetVersion;
}

export interface RegisteredDataset {
  name: string;
  versions: DatasetVersion[];
}

interface RunRecord {
  id: number;
  experiment: string;
  status: string;
  node?: string;
  type?: string;
  start_unix_ms: number;
  /** null while running. */
  end_unix_ms: number | null;
  error?: string;
  pid?: number;
  host?: string;
  params: Record<string, string>;
  artifacts: Record<string, string>;
}

/** A run in a list: the last value of each metric. */
export interface Run extends RunRecord {
  metrics: Metrics;
}

/** One metric of a run shown alone. */
export interface MetricSummary {
  last: number | null;
  last_step: number;
  min: number | null;
  max: number | null;
  points: number;
}

/** GET /api/v1/runs/{id}: a summary per metric. */
export interface RunDetails extends RunRecord {
  metrics: Record<string, MetricSummary>;
}

/** GET /api/v1/runs/{id}/metrics/{name}: a page of one metric's values, by step. */
export interface MetricHistory {
  run: number;
  metric: string;
  /** The metric's values in all. */
  total: number;
  /** The limit left later values out: ask again with afterStep the last step received. */
  more: boolean;
  /** value is null when it was not finite. */
  points: { step: number; value: number | null; unix_ms: number }[];
}

/** The query of GET /api/v1/runs/{id}/metrics/{name}. */
export interface MetricQuery {
  /** Only the values of later steps (to page on, or to follow a running job). */
  afterStep?: number;
  /** About this many values (a page ends with a whole step; the server's default 10,000). */
  limit?: number;
}

export interface RunList {
  /** How many matched before the limit. */
  matched: number;
  runs: Run[];
}

/** The query of GET /api/v1/runs. */
export interface RunQuery {
  experiment?: string;
  /** Such as "val_accuracy>0.8". */
  filter?: string;
  status?: string;
  sort?: string;
  desc?: boolean;
  limit?: number;
  /** Skip this many matching runs (a table's page: `matched` counts them all). */
  offset?: number;
}
