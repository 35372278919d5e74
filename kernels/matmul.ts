// filled in by its owner
import type { OpDef } from "./op.ts";
export const MATMUL: Record<string, OpDef> = {};
