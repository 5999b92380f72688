// Boxes that scroll sideways inside the page (wide tables, the ticker strip,
// the ops page's lists) can be scrolled from the keyboard: each gets a tab
// stop (axe: scrollable-region-focusable). Always, not only when they
// overflow now: their content arrives and grows after load.

const SELECTOR = ".table-wrap, .ops-scroll";

export function focusableScrollRegions(root = document) {
  for (const node of root.querySelectorAll(SELECTOR)) {
    if (!node.hasAttribute("tabindex")) node.setAttribute("tabindex", "0");
  }
}

/** Also for the boxes pages build later (the ops page renders its cards). */
export function keepScrollRegionsFocusable() {
  focusableScrollRegions();
  new MutationObserver(() => focusableScrollRegions()).observe(document.body, { childList: true, subtree: true });
}
