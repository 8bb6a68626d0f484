import { h } from './dom.js';
import { header } from './ui.js';

export function render(main) {
  main.append(header('actions'), h('p', {}, 'Coming soon.'));
}
