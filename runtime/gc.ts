// A full garbage collection on demand, where the runtime allows one
// (Deno, Node, Bun: platform/node.ts; never in a page). dawn.node's command encoders,
// passes and command buffers are small JavaScript objects holding native memory (the recorded
// commands): the JavaScript engine does not count that memory, so it collects them rarely, and
// a long run's resident memory grew by ~11 KB per step although nothing was leaked (measured:
// with a collection every few hundred steps it stays flat). The training loop calls this while
// it would wait for the device anyway.
import { host } from "../platform/current.ts";

/** Runs a full collection if the runtime allows it; returns whether it did. */
export const collectGarbage = (): boolean => host().collectGarbage();
