// SPDX-License-Identifier: Apache-2.0
// The AimassError a call rejects with (the test fails when it resolves or throws anything else).

import assert from "node:assert/strict";

import { AimassError } from "@aimass/client";

export async function rejection(promise: Promise<unknown>): Promise<AimassError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof AimassError, `not an AimassError: ${String(error)}`);
    return error;
  }
  assert.fail("the call did not fail");
}
