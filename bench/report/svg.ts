import { BenchResult } from '../lib/result';
import { formatMs, percentile } from '../lib/stats';
import { phaseNames } from './markdown';

const SERIES_COLORS = ['#1f6fb4', '#e0731a'];
const WIDTH = 960;
const LEFT = 170;
// Room right of the plot for the median labels, so they never sit on top of a far outlier.
const RIGHT = 120;
const TOP = 70;
const BAND = 30;
const PHASE_GAP = 22;

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

function round(value: number): string {
  return value.toFixed(1);
}

/**
 * Box-and-strip plot per phase, both results on one logarithmic time axis: cold starts (seconds) and warm requests
 * (milliseconds) differ by orders of magnitude, and a linear axis would flatten the warm ones into a line.
 */
export function compareSvg(a: BenchResult, b: BenchResult): string {
  const series = [a, b];
  const phases = phaseNames(a, b);
  const allValues = series.flatMap((result) => Object.values(result.phases).flat()).filter((value) => value > 0);
  const height = TOP + phases.length * (2 * BAND + PHASE_GAP) + 50;
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" ` +
      `font-family="Helvetica, Arial, sans-serif" font-size="12">`,
  );
  parts.push(`<title>${escapeXml(`${a.label} vs ${b.label}`)}</title>`);
  parts.push(`<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`);
  parts.push(
    `<text x="${LEFT}" y="24" font-size="16" font-weight="bold">${escapeXml(`${a.label} vs ${b.label}`)}</text>`,
  );
  series.forEach((result, index) => {
    const x = LEFT + index * 300;
    parts.push(`<rect x="${x}" y="36" width="14" height="14" fill="${SERIES_COLORS[index]}"/>`);
    parts.push(
      `<text x="${x + 20}" y="48">${escapeXml(`${index === 0 ? 'A' : 'B'}: ${result.label} (${result.kind})`)}</text>`,
    );
  });

  const plotWidth = WIDTH - LEFT - RIGHT;
  const minDecade = allValues.length ? Math.floor(Math.log10(Math.min(...allValues))) : 0;
  const maxDecade = allValues.length ? Math.max(minDecade + 1, Math.ceil(Math.log10(Math.max(...allValues)))) : 1;
  const xOf = (value: number): number =>
    LEFT + ((Math.log10(Math.max(value, 10 ** minDecade)) - minDecade) / (maxDecade - minDecade)) * plotWidth;
  const axisBottom = height - 40;
  for (let decade = minDecade; decade <= maxDecade; decade += 1) {
    const x = round(xOf(10 ** decade));
    parts.push(`<line x1="${x}" y1="${TOP - 8}" x2="${x}" y2="${axisBottom}" stroke="#dddddd"/>`);
    parts.push(
      `<text x="${x}" y="${axisBottom + 16}" text-anchor="middle">${escapeXml(formatMs(10 ** decade))}</text>`,
    );
  }
  parts.push(`<text x="${LEFT + plotWidth / 2}" y="${axisBottom + 34}" text-anchor="middle">time (log scale)</text>`);

  phases.forEach((phase, phaseIndex) => {
    const top = TOP + phaseIndex * (2 * BAND + PHASE_GAP);
    parts.push(
      `<text x="${LEFT - 12}" y="${top + BAND + 4}" text-anchor="end" font-weight="bold">${escapeXml(phase)}</text>`,
    );
    series.forEach((result, seriesIndex) => {
      const color = SERIES_COLORS[seriesIndex];
      const middle = top + seriesIndex * BAND + BAND / 2;
      const values = [...(result.phases[phase] ?? [])].sort((x, y) => x - y);
      parts.push(
        `<g class="series-${seriesIndex === 0 ? 'a' : 'b'}" data-label="${escapeXml(result.label)}" data-phase="${escapeXml(phase)}">`,
      );
      if (values.length === 0) {
        parts.push(`<text x="${LEFT + 4}" y="${middle + 4}" fill="${color}">no data</text>`);
      } else {
        const q1 = percentile(values, 0.25);
        const median = percentile(values, 0.5);
        const q3 = percentile(values, 0.75);
        const y = round(middle);
        parts.push(
          `<line x1="${round(xOf(values[0]))}" y1="${y}" x2="${round(xOf(values[values.length - 1]))}" y2="${y}" stroke="${color}"/>`,
        );
        parts.push(
          `<rect x="${round(xOf(q1))}" y="${round(middle - 8)}" width="${round(Math.max(1, xOf(q3) - xOf(q1)))}" height="16" ` +
            `fill="${color}" fill-opacity="0.25" stroke="${color}"/>`,
        );
        parts.push(
          `<line x1="${round(xOf(median))}" y1="${round(middle - 10)}" x2="${round(xOf(median))}" y2="${round(middle + 10)}" ` +
            `stroke="${color}" stroke-width="3"/>`,
        );
        values.forEach((value, valueIndex) => {
          // Deterministic jitter so repeated runs draw the same picture.
          const jitter = ((valueIndex * 7) % 11) - 5;
          parts.push(
            `<circle cx="${round(xOf(value))}" cy="${round(middle + jitter)}" r="2.5" fill="${color}" fill-opacity="0.8">` +
              `<title>${escapeXml(`${result.label} ${phase}: ${formatMs(value)}`)}</title></circle>`,
          );
        });
        parts.push(
          `<text x="${WIDTH - RIGHT + 12}" y="${middle + 4}" font-size="10" fill="${color}" text-anchor="start">` +
            `${escapeXml(`median ${formatMs(median)}`)}</text>`,
        );
      }
      parts.push('</g>');
    });
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
