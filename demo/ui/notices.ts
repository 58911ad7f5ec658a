/** Banners at the top of the page: what the user must know (no WebGPU, a failed run, bad URL settings). */
import { byId, el } from '../app/dom.js';

export type NoticeKind = 'info' | 'warning' | 'error';

export function showNotice(kind: NoticeKind, title: string, body: string | Node, id?: string): HTMLElement {
  const host = byId('notices');
  if (id) host.querySelector(`[data-notice="${id}"]`)?.remove();
  const close = el('button', { class: 'notice-close', type: 'button', 'aria-label': 'dismiss' }, '×');
  const notice = el('div', { class: `notice notice-${kind}`, role: kind === 'error' ? 'alert' : 'status', 'data-notice': id }, el('strong', {}, title), ' ', body, close);
  close.addEventListener('click', () => notice.remove());
  host.append(notice);
  return notice;
}
