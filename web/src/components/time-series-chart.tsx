import { useEffect, useMemo, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { useEffectiveTheme } from '../lib/theme';

export interface ChartSeries {
  label: string;
  /** One value per x; null leaves a gap. */
  values: readonly (number | null)[];
  /** A CSS custom property holding the colour, such as `--good`. */
  color: string;
  /** Shade the area under the line. */
  fill?: boolean;
  /** Draw as bars rather than a line. */
  bars?: boolean;
}

interface TimeSeriesChartProps {
  /** Names the chart for assistive technology; the caption a reader sees is the card's title. */
  label: string;
  /** Times, in ms since the epoch. */
  x: readonly number[];
  series: readonly ChartSeries[];
  /** How the y axis and the legend write a value. */
  formatValue(value: number): string;
  height?: number;
}

/**
 * A uPlot chart over time. The plot is built once per shape (and theme, whose colours it reads from the page's
 * CSS), then only fed new data, so a live refresh every two seconds costs a redraw, not a rebuild. It follows the
 * width of its container.
 */
export function TimeSeriesChart({ label, x, series, formatValue, height = 200 }: TimeSeriesChartProps) {
  const container = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const theme = useEffectiveTheme();
  const shape = series.map((s) => `${s.label}|${s.color}|${s.fill === true}|${s.bars === true}`).join(',');
  const data = useMemo(() => [x.map((t) => t / 1000), ...series.map((s) => [...s.values])] as uPlot.AlignedData, [x, series]);
  const format = useRef(formatValue);
  format.current = formatValue;

  useEffect(() => {
    const el = container.current;
    if (el === null) return;
    const css = getComputedStyle(el);
    const color = (name: string) => css.getPropertyValue(name).trim() || '#888';
    const axis = { stroke: color('--muted'), grid: { stroke: color('--grid'), width: 1 }, ticks: { stroke: color('--grid'), width: 1 } };
    const bars = uPlot.paths.bars?.({ size: [0.7, 14] });
    const options: uPlot.Options = {
      width: Math.max(el.clientWidth, 200),
      height,
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(max, 1) * 1.1] } },
      series: [
        {},
        ...series.map((s) => ({
          label: s.label,
          stroke: color(s.color),
          width: 2,
          fill: s.fill === true || s.bars === true ? `${color(s.color)}33` : undefined,
          paths: s.bars === true ? bars : undefined,
          points: { show: false },
          value: (_u: uPlot, v: number | null) => (v === null ? '—' : format.current(v)),
        })),
      ],
      // Times need more room than uPlot's default spacing, or labels such as 11:25pm run together.
      axes: [{ ...axis, space: 80 }, { ...axis, size: 64, values: (_u, values) => values.map((v) => format.current(v)) }],
      cursor: { drag: { x: false, y: false } },
      legend: { live: true },
    };
    const instance = new uPlot(options, data, el);
    plot.current = instance;
    const resize = new ResizeObserver(() => instance.setSize({ width: Math.max(el.clientWidth, 200), height }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      instance.destroy();
      plot.current = null;
    };
    // Rebuilt only when the shape, the size or the theme changes; new data goes through setData below.
  }, [shape, height, theme]);

  useEffect(() => {
    plot.current?.setData(data);
  }, [data]);

  return <div ref={container} className="chart" role="img" aria-label={label} />;
}
