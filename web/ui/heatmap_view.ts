// The live cross-correlation matrix C on its <canvas>, with its colour bar (+1 top, −1 bottom).
import { cssVar, fitCanvas } from "./dom.ts";
import { colourBar, heatmapCells } from "./heatmap.ts";

const BAR = 14, GAP = 10, LABELS = 34;

export class HeatmapView {
  private c?: { data: Float32Array; d: number };

  constructor(private readonly canvas: HTMLCanvasElement) {}

  set(c: { data: Float32Array; d: number }): void {
    this.c = c;
  }

  clear(): void {
    this.c = undefined;
  }

  render(): void {
    const { ctx, w, h } = fitCanvas(this.canvas);
    ctx.clearRect(0, 0, w, h);
    const side = Math.max(1, Math.min(h, w - BAR - GAP - LABELS));
    ctx.fillStyle = cssVar("--fg", "#222");
    ctx.font = "12px system-ui, sans-serif";
    if (!this.c) {
      ctx.strokeStyle = cssVar("--grid", "#e3e3e3");
      ctx.strokeRect(0.5, 0.5, side - 1, side - 1);
      ctx.textAlign = "center";
      ctx.fillText("not measured yet", side / 2, side / 2);
    } else {
      const cells = heatmapCells(this.c.data, this.c.d, Math.min(256, Math.floor(side)));
      ctx.imageSmoothingEnabled = false;
      ctx.drawImage(toCanvas(cells.rgba, cells.size, cells.size), 0, 0, side, side);
    }
    const x = side + GAP;
    const barH = Math.max(2, Math.round(side));
    ctx.drawImage(toCanvas(colourBar(1, barH), 1, barH), x, 0, BAR, side);
    ctx.textAlign = "left";
    ctx.textBaseline = "middle";
    for (const [v, label] of [[1, "+1"], [0, "0"], [-1, "−1"]] as const) {
      const y = Math.min(side - 6, Math.max(6, ((1 - v) / 2) * side));
      ctx.fillText(label, x + BAR + 4, y);
    }
    this.canvas.setAttribute(
      "aria-label",
      this.c
        ? `Cross-correlation matrix C, ${this.c.d} × ${this.c.d}, coloured from −1 (blue) through 0 (white) to +1 (red)`
        : "Cross-correlation matrix C (not measured yet)",
    );
  }
}

function toCanvas(rgba: Uint8ClampedArray, w: number, h: number): HTMLCanvasElement {
  const c = document.createElement("canvas");
  c.width = w;
  c.height = h;
  c.getContext("2d")!.putImageData(new ImageData(new Uint8ClampedArray(rgba), w, h), 0, 0);
  return c;
}
