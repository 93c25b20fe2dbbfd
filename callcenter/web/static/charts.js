// Bar charts as inline SVG, built with DOM calls (labels are text nodes, never markup).
//
// barChart(container, groups, options): groups = [{label, bars: [{value, text, cls}]}];
// each series (the bar's position in its group) is scaled to options.max[i] or its own largest
// value, so series of different units (calls, minutes) can stand side by side. options.slot:
// the width of a group, labelEvery: label every n-th group only.

const SVG = 'http://www.w3.org/2000/svg';

function node(tag, attrs = {}, text = null) {
  const item = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) item.setAttribute(key, String(value));
  if (text !== null) item.textContent = String(text);
  return item;
}

export function barChart(container, groups, { max = [], height = 140, legend = [], slot = 36, labelEvery = 1 } = {}) {
  const series = Math.max(1, ...groups.map((group) => group.bars.length));
  const top = [];
  for (let i = 0; i < series; i += 1) {
    top.push(max[i] || Math.max(1, ...groups.map((group) => group.bars[i]?.value || 0)));
  }
  const width = Math.max(240, groups.length * slot + 10);
  const plot = height - 30;
  const barWidth = Math.max(4, (slot - 8) / series);
  const svg = node('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img' });
  svg.append(node('line', { x1: 0, y1: plot + 0.5, x2: width, y2: plot + 0.5, stroke: '#cbd2d9' }));
  groups.forEach((group, g) => {
    const x0 = 5 + g * slot;
    group.bars.forEach((bar, i) => {
      const h = Math.round((Math.max(0, bar.value) / top[i]) * (plot - 14));
      const x = x0 + 2 + i * barWidth;
      const rect = node('rect', {
        class: `bar ${bar.cls || ''}`.trim(), x, y: plot - h, width: barWidth - 1, height: h,
        'data-label': group.label, 'data-value': bar.value,
      });
      rect.append(node('title', {}, `${group.label}: ${bar.text ?? bar.value}`));
      svg.append(rect);
      if (bar.value > 0 && series <= 2) {
        svg.append(node('text', { x: x + (barWidth - 1) / 2, y: plot - h - 3, 'text-anchor': 'middle' },
          bar.text ?? bar.value));
      }
    });
    if (g % labelEvery === 0) {
      svg.append(node('text', { x: x0 + slot / 2 - 2, y: plot + 14, 'text-anchor': 'middle' }, group.label));
    }
  });
  const parts = [svg];
  if (legend.length) {
    const key = document.createElement('p');
    key.className = 'legend';
    legend.forEach((name, i) => {
      const swatch = document.createElement('span');
      swatch.className = i ? 'swatch second' : 'swatch';
      key.append(swatch, name);
    });
    parts.push(key);
  }
  container.replaceChildren(...parts);
}

export function chartMessage(container, text) {
  const line = document.createElement('p');
  line.className = 'muted';
  line.textContent = text;
  container.replaceChildren(line);
}
