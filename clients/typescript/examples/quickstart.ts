// SPDX-License-Identifier: Apache-2.0
// Infers once against a running model and prints its answer.
//
//   aimass run configs/quickstart.yaml          # serves "fashion" on port 8080
//   cd clients/typescript && npm run build && npm run build:test
//   node dist-test/examples/quickstart.js --url http://127.0.0.1:8080 --model fashion
//
// It reads the model's metadata, sends one row of zeros to each numeric input (binary tensor
// data), and prints every output. Exits 1 with the server's message on an error.

import { AimassError, Client, type Tensor } from "@aimass/client";

function option(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 && at + 1 < process.argv.length ? process.argv[at + 1]! : fallback;
}

async function main(): Promise<number> {
  const url = option("url", "http://127.0.0.1:8080");
  const model = option("model", "fashion");
  const apiKey = process.env["AIMASS_API_KEY"];
  const client = new Client(url, apiKey ? { apiKey } : {});
  try {
    const meta = await client.modelMetadata(model);
    const inputs: Tensor[] = meta.inputs
        .filter((input) => !input.optional && input.datatype !== "BYTES")
        .map((input) => {
          const shape = input.shape.map((d) => (d < 0 ? 1 : d));
          const count = shape.reduce((n, d) => n * d, 1);
          return { name: input.name, datatype: input.datatype, shape, data: new Array<number>(count).fill(0) };
        });
    const result = await client.infer(model, inputs, { requestId: "quickstart" });
    console.log(`${result.modelName} version ${result.modelVersion} (request ${result.id}):`);
    for (const output of result.outputs) {
      const values = Array.from(output.data as ArrayLike<unknown>, (v) => String(v)).join(", ");
      console.log(`  ${output.name} ${output.datatype} [${output.shape.join(", ")}]: [${values}]`);
    }
    return 0;
  } catch (error) {
    if (!(error instanceof AimassError)) throw error;
    console.error(`error: ${error}`);
    return 1;
  }
}

process.exitCode = await main();
