/** Node's own timers as the driver's CheckTimers (the shell's; tests inject fake ones). */
import type { CheckTimers } from './driver.js';

export const systemTimers: CheckTimers = {
  setTimeout: (callback, delayMs) => setTimeout(callback, delayMs),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};
