// Pass 1 of compile(): which nodes the step needs, and which must land in a buffer of their
// own whatever the fusion planner would like (what the host reads back, what persists).
import type { Graph } from "../ir/graph.ts";

/** Nodes the graph outputs and the persistent updates depend on. */
export function liveNodes(g: Graph): Set<number> {
  const live = new Set<number>();
  const stack = [...g.outputs.values(), ...g.updates.flatMap((u) => [u.value, u.target])];
  while (stack.length) {
    const id = stack.pop()!;
    if (live.has(id)) continue;
    live.add(id);
    stack.push(...g.nodes[id].inputs);
  }
  return live;
}

/** Graph outputs and update values, each with the reason it is pinned to its own buffer. */
export function pinnedNodes(g: Graph): Map<number, string> {
  const pinned = new Map<number, string>();
  for (const [name, id] of g.outputs) pinned.set(id, `output pinned (graph output '${name}')`);
  for (const u of g.updates) {
    if (!pinned.has(u.value)) pinned.set(u.value, `output pinned (new value of '${g.nodes[u.target].attrs.name}')`);
  }
  return pinned;
}

/** Live consumers of each node, each listed once. */
export function liveConsumers(g: Graph, live: ReadonlySet<number>): number[][] {
  return g.consumers().map((cs) => [...new Set(cs)].filter((c) => live.has(c)));
}
