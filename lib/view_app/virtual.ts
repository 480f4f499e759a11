/// <reference lib="dom" />
/**
 * @tanstack/virtual-core for Preact: a list that keeps only the rows in view (and a few either
 * side) in the DOM, measuring rows whose height depends on their content.
 */
import {
  elementScroll,
  observeElementOffset,
  observeElementRect,
  Virtualizer,
  type VirtualizerOptions,
} from "@tanstack/virtual-core";
import { useLayoutEffect, useReducer, useState } from "preact/hooks";

type Options = Pick<
  VirtualizerOptions<HTMLDivElement, Element>,
  "count" | "estimateSize" | "overscan" | "getItemKey" | "paddingStart" | "paddingEnd"
>;

export function useVirtualizer(
  scroller: { current: HTMLDivElement | null },
  opts: Options,
): Virtualizer<HTMLDivElement, Element> {
  const [, rerender] = useReducer((n: number) => n + 1, 0);
  const full: VirtualizerOptions<HTMLDivElement, Element> = {
    ...opts,
    getScrollElement: () => scroller.current,
    observeElementRect,
    observeElementOffset,
    scrollToFn: elementScroll,
    onChange: () => rerender(0),
  };
  const [v] = useState(() => new Virtualizer(full));
  v.setOptions(full);
  useLayoutEffect(() => v._didMount(), []);
  useLayoutEffect(() => v._willUpdate());
  return v;
}
