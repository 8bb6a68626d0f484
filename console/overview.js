import { h } from './dom.js';
import { header } from './ui.js';

export function render(main) {
  main.append(header('overview'), h('p', {}, 'Coming soon.'));
}
