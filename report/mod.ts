// Public surface of report/: PNG helpers, plots, heatmaps, terminal output, metrics log.
export { encodePng, imageGrid, type Raster, writePng } from "./png.ts";
export { diverging, RDBU } from "./colormap.ts";
export {
  blockAverage,
  type HeatmapLayout,
  type HeatmapOptions,
  LEGEND_TICKS,
  renderHeatmap,
  writeHeatmap,
} from "./heatmap.ts";
export { drawText, glyph, textWidth } from "./font.ts";
export { linePlot, linePlots, type Panel, type Series, writeSvg } from "./plot.ts";
export { formatDuration, formatNumber } from "./format.ts";
export { formatSummary, formatTable } from "./summary.ts";
export { formatProgress, Progress, type ProgressState, stdoutIsTerminal } from "./progress.ts";
export { appendMetrics, metricSeries, readMetrics, truncateMetrics } from "./metrics.ts";
