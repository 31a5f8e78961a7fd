import { configure } from '@testing-library/dom';

// Browser APIs jsdom lacks but antd's responsive components call.
if (typeof window !== 'undefined') {
  const noop = () => undefined;
  Object.defineProperty(window, 'matchMedia', {
    configurable: true,
    value: (query: string) => ({
      matches: false,
      media: query,
      onchange: null,
      addListener: noop,
      removeListener: noop,
      addEventListener: noop,
      removeEventListener: noop,
      dispatchEvent: () => false,
    }),
  });
  // Text areas with autoSize, selects and tables observe their size.
  if (!('ResizeObserver' in window)) {
    class ResizeObserver {
      observe = noop;
      unobserve = noop;
      disconnect = noop;
    }
    Object.defineProperty(window, 'ResizeObserver', { configurable: true, value: ResizeObserver });
    Object.defineProperty(globalThis, 'ResizeObserver', {
      configurable: true,
      value: ResizeObserver,
    });
  }
}

// The machines that run these tests are small and shared: give the
// asynchronous queries time before calling something missing.
configure({ asyncUtilTimeout: 5000 });
