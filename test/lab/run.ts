import { $ } from 'zx';

/** Quiet zx: the lab prints its own progress; a failing command throws with its stderr. */
export const sh = $({ quiet: true });

/** Like `sh`, for clean-up steps whose target may already be gone. */
export const shMaybe = $({ quiet: true, nothrow: true });
