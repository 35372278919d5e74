// The live loss curve on its <canvas>: keeps every step's loss, repaints on request.
import { cssVar, fitCanvas } from "./dom.ts";
import { decimate, drawPlot, plotLayout } from "./loss_plot.ts";

export class LossView {
  private steps: number[] = [];
  private losses: number[] = [];

  constructor(private readonly canvas: HTMLCanvasElement) {}

  clear(): void {
    this.steps = [];
    this.losses = [];
  }

  add(points: [number, number][]): void {
    for (const [s, l] of points) {
      // a resumed run logs from its checkpoint's step again: drop what it recomputes
      while (this.steps.length && this.steps[this.steps.length - 1] >= s) {
        this.steps.pop();
        this.losses.pop();
      }
      this.steps.push(s);
      this.losses.push(l);
    }
  }

  get count(): number {
    return this.steps.length;
  }

  render(): void {
    const { ctx, w, h } = fitCanvas(this.canvas);
    ctx.clearRect(0, 0, w, h);
    const layout = plotLayout(decimate(this.steps, this.losses, Math.max(50, w - 70)), w, h);
    drawPlot(ctx, layout, {
      axis: cssVar("--fg-muted", "#555"),
      grid: cssVar("--grid", "#e3e3e3"),
      text: cssVar("--fg", "#222"),
      line: cssVar("--accent", "#1f5fbf"),
    }, "step");
    const last = this.losses[this.losses.length - 1];
    this.canvas.setAttribute(
      "aria-label",
      this.steps.length
        ? `Loss curve over ${this.steps.length} steps; last loss ${last.toPrecision(4)} at step ${
          this.steps[this.steps.length - 1]
        }`
        : "Loss curve (no steps yet)",
    );
  }
}
