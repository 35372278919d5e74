// The op table: every primitive the compiler knows, keyed by name. A new op is one entry in
// one of these files; nothing else in the project needs to change.
import { AUGMENT } from "./augment.ts";
import { CONV } from "./conv.ts";
import { ELEMENTWISE } from "./elementwise.ts";
import { EYE } from "./eye.ts";
import { GATHER } from "./gather.ts";
import { IOTA } from "./iota.ts";
import { LAYOUT } from "./layout.ts";
import { LEAVES } from "./leaf.ts";
import { MATMUL } from "./matmul.ts";
import { ONE_HOT } from "./one_hot.ts";
import type { OpDef } from "./op.ts";
import { POOL } from "./pool.ts";
import { PRECISION } from "./precision.ts";
import { RANDOM } from "./random.ts";
import { REDUCE } from "./reduce.ts";
import { SOFTMAX } from "./softmax.ts";
import { TOPK } from "./topk.ts";

export const OPS: Record<string, OpDef> = {
  ...LEAVES,
  ...ELEMENTWISE,
  ...EYE,
  ...IOTA,
  ...ONE_HOT,
  ...RANDOM,
  ...MATMUL,
  ...REDUCE,
  ...SOFTMAX,
  ...LAYOUT,
  ...CONV,
  ...POOL,
  ...AUGMENT,
  ...GATHER,
  ...PRECISION,
  ...TOPK,
};
