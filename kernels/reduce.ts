// filled in by its owner
import type { OpDef } from "./op.ts";
export const REDUCE: Record<string, OpDef> = {};
