/** Ten horizontal bars, one per digit, the most likely one highlighted. */
import { el, percent } from '../app/dom.js';

export function renderProbBars(host: HTMLElement, probs: ArrayLike<number> | undefined, label?: number): void {
  let best = -1;
  if (probs) for (let c = 0; c < 10; c++) if (best < 0 || probs[c]! > probs[best]!) best = c;
  host.replaceChildren(
    ...Array.from({ length: 10 }, (_, c) => {
      const p = probs ? probs[c]! : 0;
      const classes = ['prob-row', c === best ? 'best' : '', label === c ? 'label' : ''].filter(Boolean).join(' ');
      return el(
        'div',
        { class: classes, 'data-digit': c },
        el('span', { class: 'prob-digit' }, String(c)),
        el('span', { class: 'prob-track' }, el('span', { class: 'prob-fill', style: `width:${(p * 100).toFixed(1)}%` })),
        el('span', { class: 'prob-value' }, probs ? percent(p) : ''),
      );
    }),
  );
}
